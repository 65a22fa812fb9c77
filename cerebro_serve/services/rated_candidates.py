"""The candidates rated for a job, as a trained version's feature rated_resemblance reads them at scoring
time (scoring/resemblance.py): the same feedback the version learnt from (its kind and labeller role, its
goals for trackings), labelled as its training labelled it, about this job only.

Read live, so a rating posted after the training counts at once, and a profile erased since (its feedback
goes with it) or whose consent now refuses training no longer does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import msgspec
import numpy as np

from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.resemblance import VIEW, Exemplars
from cerebro_serve.store import SqlStore
from cerebro_serve.store.learning import FeedbackFilter
from cerebro_serve.training.dataset import WorkflowLog, allows_learning, rating_pairs, tracking_pairs

RESEMBLANCE = FEATURES.index("rated_resemblance")

VectorsOf = Callable[[int, Callable[[], Profile]], tuple[np.ndarray, RecordFeatures]]


def rated_candidates(store: SqlStore, algorithm: Algorithm, job_id: int, vectors_of: VectorsOf) -> Exemplars | None:
    """The job's rated candidates for `algorithm`, or None when it does not weigh them (`vectors_of`: a
    stored record's view vectors, services/anchors.py)."""
    rated_by = algorithm.rated_by
    if rated_by is None or RESEMBLANCE not in algorithm.read_features:
        return None
    rows = store.learning.feedback_rows(FeedbackFilter(kind=rated_by.kind, role=rated_by.role, job_id=job_id))
    if rated_by.kind == "rating":
        pairs = rating_pairs(rows)
    else:
        goals = [{"action": action, "outcome": outcome} for action, outcome in rated_by.goals]
        pairs = tracking_pairs(rows, goals, WorkflowLog())
    label = {pair.profile_id: pair.label for pair in pairs}
    ids, vectors, good = [], [], []
    for stored in store.records.load_records(sorted(label)):
        profile = msgspec.json.decode(stored.body, type=PROFILE.type)
        if stored.kind != PROFILE.name or not allows_learning(profile):
            continue
        views, _ = vectors_of(stored.id, functools.partial(_same, profile))
        ids.append(stored.id)
        vectors.append(views[VIEW])
        good.append(bool(label[stored.id]))
    if not ids:
        return None
    return Exemplars(np.array(ids, dtype=np.int64), np.stack(vectors).astype(np.float32), np.array(good))


def _same(profile: Profile) -> Profile:
    return profile
