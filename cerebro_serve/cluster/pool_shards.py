"""Where a pool's shards are, as the front end sees them: something that answers a `ShardRequest` from
every shard of a pool, scored with the pool's statistics (every shard's summed).

A shard is a `ShardServer`: one shard of every pool, its index built from the store and following the
store's writes (it catches up before each answer, so a committed write is in the next ranking). In this
process (`LocalShards`) or as Ray actors across a cluster (`cluster/ray_shards.py`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from cerebro_serve.cluster.shard_ranking import (
    ShardHits,
    ShardListing,
    ShardRequest,
    list_shard,
    rank_shard,
    score_shard,
)
from cerebro_serve.index.columns import TermStatistics, live_tag_counts
from cerebro_serve.index.registry import IndexRegistry, PoolIndex
from cerebro_serve.index.shards import Shard
from cerebro_serve.index.vector_index import ANN_MIN_ROWS
from cerebro_serve.store import SqlStore


class ShardNotReady(Exception):
    """A shard cannot answer for a pool (its records need computing again first)."""


class ShardUnavailable(Exception):
    """No replica of a shard answered: a ranking without it would be silently partial."""

    def __init__(self, shard: Shard, reason: str) -> None:
        super().__init__(f"{shard.name()} of the pool is unavailable ({reason})")
        self.shard = shard


@dataclass(frozen=True, slots=True)
class ShardAnswers:
    """The shards' answers, in shard order, and the shards that gave none (only when partial answers are
    allowed)."""

    hits: list[ShardHits]
    missing: tuple[Shard, ...] = ()


class PoolShards(Protocol):
    count: int

    def rank(self, pool_key: str, request: ShardRequest, allow_partial: bool = False) -> ShardAnswers:
        """Every shard's answer; scored (when the request scores) with the pool's statistics. A shard that
        cannot answer raises `ShardUnavailable`, or with `allow_partial` is left out and named."""
        ...

    def by_date(self, pool_key: str, listing: ShardListing, allow_partial: bool = False) -> ShardAnswers:
        """Every shard's first rows of a page sorted by date."""
        ...

    def score(
        self, pool_key: str, request: ShardRequest, record_ids: np.ndarray, allow_partial: bool = False
    ) -> ShardAnswers:
        """The similarities and scores of these records, from the shards that hold them."""
        ...

    def statistics(self, pool_key: str) -> TermStatistics:
        """The pool's BM25 statistics (every shard's summed)."""
        ...

    def tag_counts(self, pool_key: str) -> dict[tuple[str, str | None], int]:
        """How many live records of the pool carry each tag (every shard's summed)."""
        ...

    def close(self) -> None: ...


def summed_tag_counts(parts: list[dict[tuple[str, str | None], int]]) -> dict[tuple[str, str | None], int]:
    total: dict[tuple[str, str | None], int] = {}
    for part in parts:
        for tag, count in part.items():
            total[tag] = total.get(tag, 0) + count
    return total


class ShardServer:
    """One shard of every pool, on its own connection to the store (the truth it rebuilds from)."""

    def __init__(
        self,
        store_url: str,
        model: str,
        dimension: int,
        shard: Shard,
        index_dir: Path | None = None,
        ann_min_rows: int = ANN_MIN_ROWS,
    ) -> None:
        """`model`: the vectors' tag (`engine.views.vectors_tag`); records embedded otherwise are refused
        (`ShardNotReady`) until the front end has computed them again. `index_dir`: where the shard
        publishes its index files and maps them from when it starts again (None: it rebuilds from the
        store)."""
        self.shard = shard
        self.store = SqlStore(store_url)
        self.registry = IndexRegistry(self.store, index_dir, model, dimension, ann_min_rows, shard=shard)

    def statistics(self, pool_key: str) -> tuple[TermStatistics, int]:
        """This shard's part of the pool's statistics, and the pool revision its index has reached."""
        index = self.index(pool_key)
        return TermStatistics.of(index.columns.snapshot()), index.revision

    def tag_counts(self, pool_key: str) -> dict[tuple[str, str | None], int]:
        return live_tag_counts(self.index(pool_key).columns.snapshot())

    def rank(self, pool_key: str, request: ShardRequest) -> ShardHits:
        return rank_shard(self.index(pool_key), request)

    def by_date(self, pool_key: str, listing: ShardListing) -> ShardHits:
        return list_shard(self.index(pool_key), listing)

    def score(self, pool_key: str, request: ShardRequest, record_ids: np.ndarray) -> ShardHits:
        return score_shard(self.index(pool_key), request, record_ids)

    def index(self, pool_key: str) -> PoolIndex:
        """The shard's index of the pool, caught up with the store."""
        self.registry.catch_up(pool_key)
        index, stale = self.registry.open(pool_key)
        if stale:
            raise ShardNotReady(f"{self.shard.name()}: {len(stale)} records of {pool_key} need computing again")
        return index

    def close(self) -> None:
        self.registry.close()
        self.store.close()


class LocalShards:
    """A pool's shards in this process: what shows, without a cluster, that sharding changes no answer."""

    def __init__(self, store_url: str, model: str, dimension: int, count: int, ann_min_rows: int = ANN_MIN_ROWS):
        self.count = count
        self.servers = [
            ShardServer(store_url, model, dimension, Shard(n, count), ann_min_rows=ann_min_rows) for n in range(count)
        ]

    def rank(self, pool_key: str, request: ShardRequest, allow_partial: bool = False) -> ShardAnswers:
        """Every shard answers (they are in this process)."""
        request = self._with_statistics(pool_key, request)
        return ShardAnswers([server.rank(pool_key, request) for server in self.servers])

    def by_date(self, pool_key: str, listing: ShardListing, allow_partial: bool = False) -> ShardAnswers:
        return ShardAnswers([server.by_date(pool_key, listing) for server in self.servers])

    def score(
        self, pool_key: str, request: ShardRequest, record_ids: np.ndarray, allow_partial: bool = False
    ) -> ShardAnswers:
        request = self._with_statistics(pool_key, request)
        return ShardAnswers([server.score(pool_key, request, record_ids) for server in self.servers])

    def statistics(self, pool_key: str) -> TermStatistics:
        return TermStatistics.summed([server.statistics(pool_key)[0] for server in self.servers])

    def tag_counts(self, pool_key: str) -> dict[tuple[str, str | None], int]:
        return summed_tag_counts([server.tag_counts(pool_key) for server in self.servers])

    def _with_statistics(self, pool_key: str, request: ShardRequest) -> ShardRequest:
        if not request.scores:
            return request
        return dataclasses.replace(request, statistics=self.statistics(pool_key))

    def close(self) -> None:
        for server in self.servers:
            server.close()
