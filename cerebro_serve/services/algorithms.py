"""Algorithms: the marketplace's bases, the workspace's forks of them, their versions and rollbacks, and
which fusion answers a scoring call (`resolve`)."""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from typing import Any

import msgspec

from cerebro_serve.scoring.algorithms import MATCHING_ALGORITHM, Algorithm, matching_algorithm
from cerebro_serve.scoring.marketplace import MARKETPLACE, base_of
from cerebro_serve.services.errors import InvalidParameters, NotFound
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import AlgorithmCreate, AlgorithmListQuery
from cerebro_serve.services.timestamps import format_timestamp
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import LearningStore, StoredAlgorithm, StoredVersion


def new_algorithm_key() -> str:
    return secrets.token_hex(20)


class AlgorithmService:
    def __init__(self, store: LearningStore) -> None:
        self.store = store
        self._fusions: dict[tuple[str, int], Algorithm] = {}  # versions never change once published
        self._lock = threading.Lock()

    def marketplace(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(base) for base in MARKETPLACE]

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
        fusion = dataclasses.replace(base.fusion(), name=stored.key, version=1)
        self.store.create_algorithm(stored, fusion.to_json())
        return self.get(stored.key)

    def get(self, key: str) -> dict[str, Any]:
        return _view(self.stored(key), self.store.versions(key), self.store.scoring_call_counts(key))

    def list(self, query: AlgorithmListQuery) -> Page:
        algorithms, total = self.store.list_algorithms((query.page - 1) * query.limit, query.limit)
        return Page([_view(algorithm) for algorithm in algorithms], query.page, query.limit, total)

    def rollback(self, key: str, version: int) -> dict[str, Any]:
        self.stored(key)
        if not self.store.activate(key, version):
            raise InvalidParameters(f"algorithm {key} has no version {version}")
        return self.get(key)

    def set_default(self, key: str | None) -> dict[str, Any] | None:
        """The algorithm that answers scoring calls naming none (None: the built-in cerebro-base)."""
        if key is not None:
            self.stored(key)
        self.store.set_default(key)
        return self.get(key) if key is not None else None

    def resolve(self, key: str | None) -> Algorithm:
        """The fusion that answers a scoring call: the named algorithm's active version, a marketplace base
        by its key, or the workspace default when no key is given. Its name and version say which answered."""
        key = key or self.store.default_algorithm() or MARKETPLACE[0].key
        if key == MATCHING_ALGORITHM:  # like against like, but any pair of records can be scored with it
            return matching_algorithm()
        base = base_of(key)
        if base is not None:
            return dataclasses.replace(base.fusion(), name=base.key)
        algorithm = self.stored(key)
        return self.fusion(key, algorithm.active_version)

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
                "status": "active" if version.version == algorithm.active_version else "available",
                "training_key": version.training_key,
                "scoring_calls": (calls or {}).get(version.version, 0),
                "metrics": json.loads(version.metrics) if version.metrics else None,
            }
            for version in versions
        ]
    return view
