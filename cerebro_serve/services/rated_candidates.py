"""The candidates rated for a job, as a trained version's feature rated_resemblance reads them at scoring
time (scoring/resemblance.py): the same feedback the version learnt from (its kind and labeller role, its
goals for trackings), labelled as its training labelled it, about this job only.

Live: a rating posted after the training counts at once, and a profile erased since (its feedback is
unlinked from it) or whose consent now refuses training no longer does. Reading them costs two reads (the
job's feedback, the rated profiles' consent; their experience vectors come from their pools' loaded
columns, as the candidates' do, or the store where a pool is not loaded), so they are kept per job until
the workspace's feedback or one of their pools changes: checking that is two small reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from cerebro_serve.index import IndexRegistry
from cerebro_serve.objects import PROFILE, ConsentAlgorithmic, Profile
from cerebro_serve.scoring.algorithms import RATED_RESEMBLANCE, Algorithm, RatedBy
from cerebro_serve.scoring.consent import allows
from cerebro_serve.scoring.resemblance import VIEW, Exemplars
from cerebro_serve.store import SqlStore
from cerebro_serve.store.learning import FeedbackFilter
from cerebro_serve.training.dataset import WorkflowLog, rating_pairs, tracking_pairs

KEPT_JOBS = 128  # a job's candidates hold one vector each: a few hundred KB for hundreds of ratings

ViewsOf = Callable[[Sequence[tuple[int, Profile]]], list[np.ndarray]]


class _Consent(msgspec.Struct):
    """Of a stored profile, only what says whether it may improve the model (the rest is not decoded)."""

    consent_algorithmic: ConsentAlgorithmic | None = None


@dataclass(frozen=True, slots=True)
class _Read:
    """A job's rated candidates as read, and what must not have changed for them to hold."""

    exemplars: Exemplars | None
    newest_feedback: int
    revisions: dict[str, int]  # of the pools holding the rated profiles


class RatedCandidates:
    def __init__(self, store: SqlStore, registry: IndexRegistry, views_of: ViewsOf) -> None:
        """`views_of`: stored records' view vectors (services/anchors.py), for profiles no loaded pool holds."""
        self.store = store
        self.registry = registry
        self.views_of = views_of
        self._kept: OrderedDict[tuple[int, RatedBy], _Read] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, algorithm: Algorithm, job_id: int) -> Exemplars | None:
        """The job's rated candidates for `algorithm`, or None when it does not weigh them or none may count."""
        rated_by = algorithm.rated_by
        if rated_by is None or RATED_RESEMBLANCE not in algorithm.read_features:
            return None
        newest = self.store.learning.newest_feedback_id()
        with self._lock:
            kept = self._kept.get((job_id, rated_by))
        if (
            kept is not None
            and kept.newest_feedback == newest
            and self.store.pools.pool_revisions(list(kept.revisions)) == kept.revisions
        ):
            return kept.exemplars
        read = self._read(rated_by, job_id, newest)
        with self._lock:
            self._kept[(job_id, rated_by)] = read
            self._kept.move_to_end((job_id, rated_by))
            while len(self._kept) > KEPT_JOBS:
                self._kept.popitem(last=False)
        return read.exemplars

    def _read(self, rated_by: RatedBy, job_id: int, newest: int) -> _Read:
        where = FeedbackFilter(kind=rated_by.kind, role=rated_by.role, job_id=job_id)
        rows = self.store.learning.feedback_rows(where)
        source_of = {row.profile_id: row.source_key for row in rows}
        # Read before the records: a change to one of them after this bumps a revision the next call sees.
        revisions = self.store.pools.pool_revisions(sorted(set(source_of.values())))
        if rated_by.kind == "rating":
            pairs = rating_pairs(rows)
        else:
            pairs = tracking_pairs(rows, rated_by.to_dict()["goals"], WorkflowLog())
        label = {pair.profile_id: pair.label for pair in pairs}
        allowed = [
            stored
            for stored in self.store.records.load_records(sorted(label))
            if stored.kind == PROFILE.name
            and allows(msgspec.json.decode(stored.body, type=_Consent).consent_algorithmic, "training")
        ]
        if not allowed:
            return _Read(None, newest, revisions)
        found: dict[int, np.ndarray] = {}  # by position in `allowed`
        for source in {source_of[stored.id] for stored in allowed}:
            index = self.registry.loaded(source)
            if index is None:
                continue
            columns, row_of = index.columns.snapshot(), index.columns.row_of
            for position, stored in enumerate(allowed):
                row = row_of(stored.id) if source_of[stored.id] == source else None
                if row is not None:
                    found[position] = columns.experience[row].astype(np.float32) * columns.experience_scale[row]
        unloaded = [position for position in range(len(allowed)) if position not in found]
        if unloaded:
            profiles = [(allowed[p].id, msgspec.json.decode(allowed[p].body, type=PROFILE.type)) for p in unloaded]
            for position, views in zip(unloaded, self.views_of(profiles)):
                found[position] = views[VIEW]
        ids = [stored.id for stored in allowed]
        exemplars = Exemplars(
            np.array(ids, dtype=np.int64),
            np.stack([found[position] for position in range(len(allowed))]).astype(np.float32),
            np.array([bool(label[i]) for i in ids]),
        )
        return _Read(exemplars, newest, revisions)
