"""A pool's shards as Ray actors across a cluster (`CEREBRO_CLUSTER`): each shard a `ShardServer` in an
actor, `replicas` of it on different nodes (a STRICT_SPREAD placement group per shard), restarted by Ray
when it dies (it rebuilds from the store before answering again).

A call goes to one replica of every shard at once (taking turns); a replica that fails or does not
answer in time is replaced by the next one; a shard none of whose replicas answers fails the call
(`ShardUnavailable`), never a ranking silently missing its records.

The pool's statistics (every shard's summed, 4 MiB of term counts) are put in Ray's object store once
per pool revision and passed to the shards by reference; an answer from a shard at another revision than
the statistics were summed at has them summed again and the call made once more.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.util.placement_group import PlacementGroup, get_placement_group, placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from cerebro_serve.cluster.pool_shards import ShardAnswers, ShardServer, ShardUnavailable, summed_tag_counts
from cerebro_serve.cluster.shard_ranking import ShardHits, ShardListing, ShardRequest
from cerebro_serve.index.columns import TermStatistics
from cerebro_serve.index.shards import Shard
from cerebro_serve.index.vector_index import ANN_MIN_ROWS

NAMESPACE = "cerebro-serve"
ACTOR_CPUS = 0.01  # what each replica reserves: it waits on the store and numpy, not on a core of its own
PLACEMENT_SECONDS = 60.0


class ShardActor(ShardServer):
    """A `ShardServer` as an actor: the same calls, answered by reference to the pool's statistics."""

    def rank_with(self, pool_key: str, request: ShardRequest, statistics: TermStatistics | None) -> ShardHits:
        return self.rank(pool_key, dataclasses.replace(request, statistics=statistics))

    def score_with(
        self, pool_key: str, request: ShardRequest, statistics: TermStatistics | None, record_ids: np.ndarray
    ) -> ShardHits:
        return self.score(pool_key, dataclasses.replace(request, statistics=statistics), record_ids)

    def ready(self) -> str:
        return self.shard.name()


@dataclass
class _Statistics:
    revisions: tuple[int | None, ...]  # None: a shard that did not answer
    reference: ray.ObjectRef


class RayShards:
    def __init__(
        self,
        store_url: str,
        model: str,
        dimension: int,
        count: int,
        replicas: int,
        timeout_seconds: float = 10.0,
        index_dir: Path | None = None,
        ann_min_rows: int = ANN_MIN_ROWS,
    ) -> None:
        """Start (or join, when another front end started them) `replicas` actors for each of `count`
        shards, on different nodes; the caller is connected to the cluster (`ray.init`). `timeout_seconds`:
        how long a replica may take to answer before the next one is asked. `index_dir`: where each
        replica keeps its shard's index files, on its own node (None: rebuilt from the store on start)."""
        self.count = count
        self.timeout_seconds = timeout_seconds
        self._turn = itertools.count()
        self._statistics: dict[str, _Statistics] = {}
        remote = ray.remote(ShardActor)
        self.replicas: list[list[Any]] = []
        for number in range(count):
            shard = Shard(number, count)
            group = _placement(shard, replicas)
            self.replicas.append(
                [
                    remote.options(
                        name=f"cerebro-{shard.name()}-replica-{replica}",
                        namespace=NAMESPACE,
                        get_if_exists=True,
                        lifetime="detached",
                        num_cpus=ACTOR_CPUS,
                        max_restarts=-1,
                        max_task_retries=0,
                        scheduling_strategy=PlacementGroupSchedulingStrategy(group, replica),
                    ).remote(store_url, model, dimension, shard, index_dir, ann_min_rows)
                    for replica in range(replicas)
                ]
            )
        self._all("ready")  # every shard has a replica up (or this raises ShardUnavailable)

    def rank(self, pool_key: str, request: ShardRequest, allow_partial: bool = False) -> ShardAnswers:
        return self._scored("rank_with", pool_key, request, (), allow_partial)

    def by_date(self, pool_key: str, listing: ShardListing, allow_partial: bool = False) -> ShardAnswers:
        return self._answers(self._all("by_date", pool_key, listing, partial=allow_partial))

    def score(
        self, pool_key: str, request: ShardRequest, record_ids: np.ndarray, allow_partial: bool = False
    ) -> ShardAnswers:
        return self._scored("score_with", pool_key, request, (record_ids,), allow_partial)

    def statistics(self, pool_key: str) -> TermStatistics:
        summed: TermStatistics = ray.get(self._sum_statistics(pool_key, partial=False).reference)
        return summed

    def tag_counts(self, pool_key: str) -> dict[tuple[str, str | None], int]:
        return summed_tag_counts(self._all("tag_counts", pool_key))

    def _scored(
        self, method: str, pool_key: str, request: ShardRequest, extra: tuple[Any, ...], partial: bool
    ) -> ShardAnswers:
        """Every shard's answer to `method`, scored with the pool's statistics when the request scores."""
        if not request.scores:
            return self._answers(self._all(method, pool_key, request, None, *extra, partial=partial))
        statistics = self._statistics.get(pool_key) or self._sum_statistics(pool_key, partial)
        hits = self._all(method, pool_key, request, statistics.reference, *extra, partial=partial)
        if tuple(part.revision if part else None for part in hits) != statistics.revisions:  # a write, or a loss
            statistics = self._sum_statistics(pool_key, partial)
            hits = self._all(method, pool_key, request, statistics.reference, *extra, partial=partial)
        return self._answers(hits)

    def close(self) -> None:
        """Forget this front end's handles; the actors live on for the other front ends (`shutdown`)."""
        self.replicas = []
        self._statistics.clear()

    def shutdown(self) -> None:
        """Stop every replica and release their placement (the cluster goes on)."""
        for replicas in self.replicas:
            for actor in replicas:
                ray.kill(actor, no_restart=True)
        for number in range(self.count):
            ray.util.remove_placement_group(get_placement_group(_group_name(Shard(number, self.count))))
        self.close()

    def _answers(self, hits: list[ShardHits | None]) -> ShardAnswers:
        missing = tuple(Shard(number, self.count) for number, part in enumerate(hits) if part is None)
        return ShardAnswers([part for part in hits if part is not None], missing)

    def _sum_statistics(self, pool_key: str, partial: bool) -> _Statistics:
        """The pool's statistics, summed over the shards that answer (all of them, unless `partial`)."""
        parts: list[tuple[TermStatistics, int] | None] = self._all("statistics", pool_key, partial=partial)
        summed = TermStatistics.summed([part[0] for part in parts if part is not None])
        statistics = _Statistics(tuple(part[1] if part else None for part in parts), ray.put(summed))
        self._statistics[pool_key] = statistics
        return statistics

    def _all(self, method: str, *args: Any, partial: bool = False) -> list[Any]:
        """Every shard's answer to `method(*args)`, one replica each, asked at once; with `partial`, None
        for a shard none of whose replicas answers (else that raises `ShardUnavailable`)."""
        turn = next(self._turn)
        asked = [self._ask(number, turn, method, args) for number in range(self.count)]
        answers = []
        for number, reference in enumerate(asked):
            try:
                answers.append(self._answer(number, turn, method, args, reference))
            except ShardUnavailable:
                if not partial:
                    raise
                answers.append(None)
        return answers

    def _ask(self, number: int, replica: int, method: str, args: tuple[Any, ...]) -> ray.ObjectRef:
        replicas = self.replicas[number]
        call: Callable[..., ray.ObjectRef] = getattr(replicas[replica % len(replicas)], method).remote
        return call(*args)

    def _answer(self, number: int, turn: int, method: str, args: tuple[Any, ...], reference: ray.ObjectRef) -> Any:
        """The shard's answer; its other replicas in turn when the one asked fails or is late."""
        reason = ""
        for attempt in range(len(self.replicas[number])):
            if attempt:
                reference = self._ask(number, turn + attempt, method, args)
            try:
                return ray.get(reference, timeout=self.timeout_seconds)
            except ray.exceptions.GetTimeoutError:
                reason = f"no answer in {self.timeout_seconds:g} s"
            except ray.exceptions.RayError as error:  # died, restarting, or failed inside the actor
                reason = str(error).splitlines()[0]
        raise ShardUnavailable(Shard(number, self.count), reason)


def _group_name(shard: Shard) -> str:
    return f"cerebro-{shard.name()}"


def _placement(shard: Shard, replicas: int) -> PlacementGroup:
    """The shard's placement group: one bundle per replica, each on another node; another front end's
    when it made one already."""
    try:
        return get_placement_group(_group_name(shard))
    except ValueError:
        try:
            group = placement_group(
                [{"CPU": ACTOR_CPUS}] * replicas, strategy="STRICT_SPREAD", name=_group_name(shard), lifetime="detached"
            )
        except ray.exceptions.RaySystemError:  # another front end, starting at the same time, made it first
            return get_placement_group(_group_name(shard))
    try:
        ray.get(group.ready(), timeout=PLACEMENT_SECONDS)
    except ray.exceptions.GetTimeoutError:
        ray.util.remove_placement_group(group)
        raise ValueError(
            f"{replicas} replicas of {shard.name()} need {replicas} nodes with {ACTOR_CPUS} CPU free: "
            f"the cluster has {len(ray.nodes())} nodes"
        ) from None
    return group
