"""The record a ranking or an explanation is relative to: a stored job or profile, with its view vectors and
features as the re-ranker reads them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerebro_serve.engine.views import VIEWS
from cerebro_serve.index import IndexRegistry
from cerebro_serve.objects import JOB, PROFILE, Record, RecordKind
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.rerank import QueryFeatures
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.services.records import RecordService
from cerebro_serve.store import SqlStore, StoredRecord


@dataclass(frozen=True, slots=True)
class Anchor:
    """What a ranking is relative to: a stored job or profile (scoring), or keywords (searching)."""

    vector: np.ndarray
    query: QueryFeatures | None  # None: rank by similarity only
    algorithm: Algorithm | None = None  # the fusion that scores; None when only searching
    excluded_id: int | None = None  # the anchor itself, when it is ranked among its peers
    key: str | None = None  # the stored anchor's key
    stored: StoredRecord | None = None  # the stored anchor, with its features (explanations read them)
    features: RecordFeatures | None = None


class Anchors:
    def __init__(self, store: SqlStore, records: RecordService, registry: IndexRegistry) -> None:
        self.store = store
        self.records = records
        self.registry = registry

    def stored(
        self,
        kind: RecordKind,
        pool_key: str,
        key: str | None,
        reference: str | None,
        algorithm: Algorithm | None,
        matching: bool = False,
    ) -> Anchor:
        """The stored job (or profile) everything is ranked against, with its vectors and features; with
        no algorithm, ranked by similarity alone. Scoring reads the job's side as the requirements;
        matching (like against like) reads the anchor's side as the reference the others are compared
        with, and leaves it out."""
        if key is None and reference is None:
            raise InvalidParameters(f"give `{kind.name}_key` or `{kind.name}_reference`")
        stored = self.records.find(kind, pool_key, RecordLookup(key=key, reference=reference))
        embedding, features = self.vectors_of(stored)
        if algorithm is None:
            return Anchor(embedding[0], None)
        query = QueryFeatures.of(features, embedding, is_job=kind is JOB or matching)
        vector = embedding[0] if matching else algorithm.adapt(embedding[0], is_job=kind is JOB)
        return Anchor(vector, query, algorithm, stored.id if matching else None, stored.key, stored, features)

    def vectors_of(self, stored: StoredRecord) -> tuple[np.ndarray, RecordFeatures]:
        """The record's view vectors (len(VIEWS) x dim) and features, computed afresh when the stored ones
        come from another model or an older schema."""
        model, raw, features = self.store.records.record_vectors(stored.id)
        if not self.registry.is_current(model, raw, features):
            record: Record = (
                self.records.materialize(JOB, stored)
                if stored.kind == JOB.name
                else self.records.materialize(PROFILE, stored)
            )
            [(_, embedding, fresh)] = self.records.describe([record])
            return embedding, fresh
        return np.frombuffer(raw, dtype=np.float32).reshape(len(VIEWS), -1), RecordFeatures.decode(features)  # type: ignore[arg-type]  # is_current: not None
