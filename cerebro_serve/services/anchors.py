"""The record a ranking or an explanation is relative to: a stored job or profile, with its view vectors and
features as the re-ranker reads them."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cerebro_serve.engine.views import reads_matching_anchor_again
from cerebro_serve.index import IndexRegistry
from cerebro_serve.objects import JOB, PROFILE, Profile, Record, RecordKind
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.consent import Operation, refusal
from cerebro_serve.scoring.rerank import QueryFeatures
from cerebro_serve.services.errors import Forbidden, InvalidParameters
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.services.rated_candidates import RatedCandidates
from cerebro_serve.services.records import RecordService
from cerebro_serve.store import SqlStore, StoredRecord

# Profiles whose matching heads are kept (`MatchingHeads`): a few MB at most, each len(VIEWS) x dim floats.
KEPT_MATCHING_HEADS = 256


@dataclass(frozen=True, slots=True)
class Anchor:
    """What a ranking is relative to: a stored job or profile (scoring), or keywords (searching)."""

    vector: np.ndarray
    query: QueryFeatures | None  # None: rank by similarity only
    algorithm: Algorithm | None = None  # the fusion that scores; None when only searching
    excluded_id: int | None = None  # the anchor itself, when it is ranked among its peers
    key: str | None = None  # the stored anchor's key
    # The stored anchor with its view vectors and features (explanations read them).
    stored: StoredRecord | None = None
    views: np.ndarray | None = None
    features: RecordFeatures | None = None


class MatchingHeads:
    """Profiles' view vectors as matching references (`RecordService.matching_views`), kept per profile and
    its stored vectors: the model reads a profile again for each matching against it, which costs more than
    the matching itself on a CPU, and a profile is often matched against several times in a row (pages,
    filters, explanations). An edit changes the stored vectors, so it is never served a stale head."""

    def __init__(self, records: RecordService) -> None:
        self.records = records
        self._kept: OrderedDict[tuple[int, bytes], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def of(
        self, record_id: int, stored: np.ndarray, profile: Callable[[], Record], features: RecordFeatures
    ) -> np.ndarray:
        key = (record_id, hashlib.blake2b(np.ascontiguousarray(stored).tobytes(), digest_size=16).digest())
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        record = profile()
        assert isinstance(record, Profile)
        views = self.records.matching_views(record, features)
        with self._lock:
            self._kept[key] = views
            while len(self._kept) > KEPT_MATCHING_HEADS:
                self._kept.popitem(last=False)
        return views


class Anchors:
    def __init__(self, store: SqlStore, records: RecordService, registry: IndexRegistry) -> None:
        self.store = store
        self.records = records
        self.registry = registry
        self.rated = RatedCandidates(store, registry, self.views_of)
        self.matching_heads = MatchingHeads(records)

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
        return self.of(
            kind, self.records.find(kind, pool_key, RecordLookup(key=key, reference=reference)), algorithm, matching
        )

    def of(self, kind: RecordKind, stored: StoredRecord, algorithm: Algorithm | None, matching: bool = False) -> Anchor:
        """The anchor a record already looked up makes (see `stored`). A profile whose consent refuses its
        vectors, or the score (the similarity, without an algorithm), is refused: nothing is ranked for it."""
        if kind is PROFILE:
            consent = self.records.materialize(kind, stored).consent_algorithmic
            needed: tuple[Operation, ...] = ("embedding", "scoring" if algorithm is not None else "searching")
            for operation in needed:
                refused = refusal(consent, operation)
                if refused is not None:
                    raise Forbidden(f"{refused}: nothing is ranked against it")
        record = functools.partial(self.records.materialize, kind, stored)  # read only when needed
        views, features = self.vectors_of(stored.id, record)
        if matching and kind is PROFILE and reads_matching_anchor_again(self.records.encoder.name):
            views = self.matching_heads.of(stored.id, views, record, features)
        if algorithm is None:
            return Anchor(views[0], None)
        # A job's rated candidates count in scoring its profiles only: a profile's ratings come from the
        # recruiters of many jobs, and no version learnt what resembling them means for jobs.
        rated = self.rated.of(algorithm, stored.id) if kind is JOB and not matching else None
        query = QueryFeatures.of(features, views, kind is JOB or matching, algorithm.preferred_terms, rated)
        vector = views[0] if matching else algorithm.adapt(views[0], is_job=kind is JOB)
        return Anchor(vector, query, algorithm, stored.id if matching else None, stored.key, stored, views, features)

    def views_of(self, records: Sequence[tuple[int, Record]]) -> list[np.ndarray]:
        """Many stored records' view vectors (each len(VIEWS) x dim) in one read; those stored by another
        model are embedded afresh, together."""
        stored = self.store.records.records_vectors([record_id for record_id, _ in records])
        views: list[np.ndarray | None] = [
            self.registry.views(stored[record_id][1])
            if record_id in stored and self.registry.vectors_current(*stored[record_id])
            else None
            for record_id, _ in records
        ]
        stale = [position for position, found in enumerate(views) if found is None]
        described = self.records.describe([records[position][1] for position in stale]) if stale else []
        for position, (_, fresh, _) in zip(stale, described):
            views[position] = fresh
        return [found for found in views if found is not None]

    def vectors_of(self, record_id: int, record: Callable[[], Record]) -> tuple[np.ndarray, RecordFeatures]:
        """A stored record's view vectors (len(VIEWS) x dim) and features; computed afresh from the record
        (asked for only then) when the stored ones come from another model or an older schema."""
        model, raw, features = self.store.records.record_vectors(record_id)
        if not self.registry.is_current(model, raw, features):
            [(_, views, fresh)] = self.records.describe([record()])
            return views, fresh
        return self.registry.views(raw), RecordFeatures.decode(features)  # type: ignore[arg-type]  # is_current: not None
