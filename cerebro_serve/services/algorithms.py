"""Algorithms: the marketplace's bases, the workspace's forks of them, their versions and rollbacks, the
kill switch (an admin stops an algorithm and restores it), and which fusion answers a scoring call
(`resolve`)."""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import msgspec

from cerebro_serve.scoring.algorithms import BASE_ALGORITHM, MATCHING_ALGORITHM, Algorithm, matching_algorithm
from cerebro_serve.scoring.marketplace import MARKETPLACE, base_of
from cerebro_serve.services.errors import Conflict, InvalidParameters, Missing, NotFound
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import (
    AlgorithmCreate,
    AlgorithmListQuery,
    AlgorithmRelease,
    AlgorithmRestore,
    AlgorithmStop,
)
from cerebro_serve.services.release_gate import RELEASED_BY_ADMIN, Review
from cerebro_serve.services.timestamps import format_timestamp
from cerebro_serve.store.algorithm_stops import StopStore, StoredStop
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import LearningStore, StoredAlgorithm, StoredVersion
from cerebro_serve.training.learned import learning_view

# What a key may name besides the workspace's forks: the marketplace's bases and the matching algorithm.
BUILT_IN = frozenset({*(base.key for base in MARKETPLACE), MATCHING_ALGORITHM})


def new_algorithm_key() -> str:
    return secrets.token_hex(20)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The fusion that answers a call and, when it stands in for a stopped algorithm, that one's stop."""

    algorithm: Algorithm
    stopped: StoredStop | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """`meta` of the answer: which algorithm version answered, and which stopped one it replaced."""
        meta: dict[str, Any] = {"algorithm_key": self.algorithm.name, "algorithm_version": self.algorithm.version}
        if self.stopped is not None:
            meta["algorithm_stopped"] = {"algorithm_key": self.stopped.algorithm_key, **_stop_view(self.stopped)}
        return meta


class AlgorithmService:
    def __init__(self, store: LearningStore, stops: StopStore, model: str | None = None) -> None:
        """`model`: the workspace's encoder, whose fitted fusions the built-in algorithms are."""
        self.store = store
        self.stops = stops
        self.model = model
        self._fusions: dict[tuple[str, int], Algorithm] = {}  # versions never change once published
        self._lock = threading.Lock()

    def marketplace(self) -> list[dict[str, Any]]:
        stops = self.stops.stopped()
        return [{**dataclasses.asdict(base), "stopped": _stop_of(stops, base.key)} for base in MARKETPLACE]

    def fork(self, request: AlgorithmCreate) -> dict[str, Any]:
        base = base_of(request.base)
        if base is None:
            known = ", ".join(b.key for b in MARKETPLACE)
            raise InvalidParameters(f"`base` must be a marketplace algorithm ({known}), got {request.base!r}")
        stored = StoredAlgorithm(
            key=new_algorithm_key(),
            base=base.key,
            name=request.name,
            labeller_role=request.labeller_role,
            description=request.description,
            goals=_goals_json(request),
            active_version=1,
            is_default=False,
            live_learning=_live_learning_json(request, base.trainable),
            created_at_us=now_us(),
        )
        fusion = dataclasses.replace(base.fusion(self.model), name=stored.key, version=1)
        self.store.create_algorithm(stored, fusion.to_json())
        return self.get(stored.key)

    def get(self, key: str) -> dict[str, Any]:
        """A fork with its versions; a built-in algorithm (marketplace bases, cerebro-match) as it is listed,
        so whether it is stopped can be read the same way."""
        stops = self.stops.stopped()
        if key in BUILT_IN:
            return {"key": key, "algorithm_key": key, "built_in": True, "stopped": _stop_of(stops, key)}
        view = _view(self.stored(key), self.store.versions(key), self.store.scoring_call_counts(key))
        return {**view, "stopped": _stop_of(stops, key)}

    def list(self, query: AlgorithmListQuery) -> Page:
        algorithms, total = self.store.list_algorithms((query.page - 1) * query.limit, query.limit)
        stops = self.stops.stopped()
        views = [{**_view(algorithm), "stopped": _stop_of(stops, algorithm.key)} for algorithm in algorithms]
        return Page(views, query.page, query.limit, total)

    def rollback(self, key: str, version: int) -> dict[str, Any]:
        """Serve another released version; one the release gate holds only an admin can release."""
        self.stored(key)
        stored = self.store.version(key, version)
        if stored is None:
            raise InvalidParameters(f"algorithm {key} has no version {version}")
        if stored.review and Review.from_json(stored.review).held:
            raise Conflict(
                f"version {version} of algorithm {key} is held for review by the release gate: "
                "an admin may release it with POST /v1/algorithm/release and a reason"
            )
        self.store.activate(key, version)
        return self.get(key)

    def release(self, request: AlgorithmRelease, admin_key_id: str | None) -> dict[str, Any]:
        """An admin's override: a version the gate held serves, with who released it, why and when kept
        in its review."""
        key, version = request.algorithm_key, request.version
        self.stored(key)
        stored = self.store.version(key, version)
        if stored is None:
            raise NotFound("algorithm version")
        review = Review.from_json(stored.review) if stored.review else None
        if review is None or not review.held:
            raise Conflict(f"version {version} of algorithm {key} is not held for review")
        at_us = now_us()
        released = msgspec.structs.replace(
            review,
            state=RELEASED_BY_ADMIN,
            released_by=admin_key_id,
            release_reason=request.reason,
            released_at=format_timestamp(at_us),
        )
        self.store.release_version(key, version, released.to_json(), at_us)
        return self.get(key)

    def set_default(self, key: str | None) -> dict[str, Any] | None:
        """The algorithm that answers scoring calls naming none (None: the built-in cerebro-base)."""
        if key is not None:
            self.stored(key)
        self.store.set_default(key)
        return self.get(key) if key is not None else None

    def stop(self, request: AlgorithmStop, key_id: str | None, user: str | None) -> dict[str, Any]:
        """The kill switch (a human stops the system, EU AI Act Art. 14): from the next call on, the
        algorithm's calls are answered by the workspace default (`fallback: default`) or refused. `key_id`
        and `user` name who stopped it as the audit trail names them (a key digest, a keyed email hash)."""
        self.require_known(request.algorithm_key)
        self.stops.stop(StoredStop(request.algorithm_key, request.fallback, request.reason, key_id, user, now_us()))
        return self.get(request.algorithm_key)

    def restore(self, request: AlgorithmRestore) -> dict[str, Any]:
        """Serve a stopped algorithm again; its stop and this restore stay in the audit trail."""
        self.require_known(request.algorithm_key)
        if not self.stops.restore(request.algorithm_key):
            raise Conflict(f"algorithm {request.algorithm_key} is not stopped")
        return self.get(request.algorithm_key)

    def resolve(self, key: str | None) -> Resolved:
        """The fusion that answers a call: the named algorithm's active version, a marketplace base by its
        key, or the workspace default when no key is given. Its name and version say which answered.

        A stopped algorithm (`stop`) falls back to the workspace default (cerebro-base when the default is
        the stopped one or is stopped too), or is refused with 409 when its fallback is `fail` or nothing
        is left to answer: the call conflicts with the state an admin put the algorithm it names in, and
        the caller can change it (name another algorithm). Not a 503: nothing failed on the server, so
        load balancers must not take the instance out, clients must not retry, and 5xx alerts must not
        fire for an admin's deliberate decision."""
        stops = self.stops.stopped()
        asked = key or self.store.default_algorithm() or BASE_ALGORITHM
        stop = stops.get(asked)
        if stop is None:
            return Resolved(self._active(asked))
        if stop.fallback == "default":
            fallback = self.store.default_algorithm() or BASE_ALGORITHM
            if fallback == asked or fallback in stops:
                fallback = BASE_ALGORITHM
            if fallback not in stops:
                return Resolved(self._active(fallback), stop)
        raise _stopped(asked, stop)

    def require_serving(self, key: str) -> None:
        """Refuse (409) a call only `key` can answer, when an admin stopped it."""
        stop = self.stops.stopped().get(key)
        if stop is not None:
            raise _stopped(key, stop)

    def _active(self, key: str) -> Algorithm:
        if key == MATCHING_ALGORITHM:  # like against like, but any pair of records can be scored with it
            return matching_algorithm(self.model)
        base = base_of(key)
        if base is not None:
            return dataclasses.replace(base.fusion(self.model), name=base.key)
        algorithm = self.stored(key)
        return self.fusion(key, algorithm.active_version)

    def require_known(self, key: str) -> None:
        """A plain 404 (these are not HrFlow routes, whose "not found" is a 400)."""
        if key not in BUILT_IN and self.store.get_algorithm(key) is None:
            raise Missing(f"no algorithm {key}: neither a built-in algorithm nor one of this workspace's")

    def fusion(self, key: str, version: int) -> Algorithm:
        with self._lock:
            cached = self._fusions.get((key, version))
        if cached is not None:
            return cached
        stored = self.store.version(key, version)
        if stored is None:
            raise NotFound("algorithm version")
        fusion = dataclasses.replace(Algorithm.from_json(stored.model), name=key, version=version)
        with self._lock:
            self._fusions[(key, version)] = fusion
        return fusion

    def stored(self, key: str) -> StoredAlgorithm:
        algorithm = self.store.get_algorithm(key)
        if algorithm is None:
            raise NotFound("algorithm")
        return algorithm


def learned_view(version: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """What a version's training learned, for a page in `lang`; None for a version no training made (or
    one trained before trainings said what they learned)."""
    learned = (version.get("metrics") or {}).get("learned")
    return learning_view(learned, lang) if learned else None


def _stopped(key: str, stop: StoredStop) -> Conflict:
    return Conflict(f"algorithm {key} was stopped by an admin ({stop.reason}); ask an admin to restore it")


def _stop_view(stop: StoredStop) -> dict[str, Any]:
    return {
        "fallback": stop.fallback,
        "reason": stop.reason,
        "stopped_by": {"key_id": stop.key_id, "user": stop.user},
        "stopped_at": format_timestamp(stop.stopped_at_us),
    }


def _stop_of(stops: dict[str, StoredStop], key: str) -> dict[str, Any] | None:
    stop = stops.get(key)
    return _stop_view(stop) if stop is not None else None


def _goals_json(request: AlgorithmCreate) -> str | None:
    if request.goals is None:
        return None
    actions = [goal.action for goal in request.goals]
    if len(set(actions)) != len(actions):
        raise InvalidParameters("`goals` names an action twice")
    return json.dumps([{"action": goal.action, "outcome": goal.outcome} for goal in request.goals])


def _live_learning_json(request: AlgorithmCreate, trainable: bool) -> str | None:
    live = request.live_learning
    if live is None:
        return None
    if not trainable:
        raise InvalidParameters(f"`live_learning` needs a trainable base; {request.base} is not")
    if live.after_events is None and live.every_hours is None:
        raise InvalidParameters("`live_learning` needs `after_events`, `every_hours` or both")
    if live.mode == "tracking" and not request.goals:
        raise InvalidParameters("live learning on trackings needs the conversion `goals`")
    return msgspec.json.encode(live).decode()


def _view(
    algorithm: StoredAlgorithm, versions: list[StoredVersion] | None = None, calls: dict[int, int] | None = None
) -> dict[str, Any]:
    base = base_of(algorithm.base)
    view: dict[str, Any] = {
        "key": algorithm.key,
        "algorithm_key": algorithm.key,
        "name": algorithm.name,
        "base": algorithm.base,
        "trainable": bool(base and base.trainable),
        "labeller_role": algorithm.labeller_role,
        "description": algorithm.description,
        "goals": json.loads(algorithm.goals) if algorithm.goals else None,
        "active_version": algorithm.active_version,
        "is_default": algorithm.is_default,
        "live_learning": json.loads(algorithm.live_learning) if algorithm.live_learning else None,
        "created_at": format_timestamp(algorithm.created_at_us),
    }
    if versions is not None:
        view["versions"] = [
            {
                "version": version.version,
                "created_at": format_timestamp(version.created_at_us),
                "status": _version_status(algorithm, version),
                "training_key": version.training_key,
                "scoring_calls": (calls or {}).get(version.version, 0),
                "metrics": json.loads(version.metrics) if version.metrics else None,
                "review": msgspec.to_builtins(Review.from_json(version.review)) if version.review else None,
            }
            for version in versions
        ]
    return view


def _version_status(algorithm: StoredAlgorithm, version: StoredVersion) -> str:
    if version.version == algorithm.active_version:
        return "active"
    if version.review and Review.from_json(version.review).held:
        return "held_for_review"
    return "available"
