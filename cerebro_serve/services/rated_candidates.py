"""The candidates rated for a job, as a trained version's feature rated_resemblance reads them at scoring
time (scoring/resemblance.py): the same feedback the version learnt from (its kind and labeller role, its
goals for trackings), labelled as its training labelled it, about this job only.

Read live, so a rating posted after the training counts at once, and a profile erased since (its feedback
is unlinked from it) or whose consent now refuses training no longer does. Three reads: the job's feedback,
the rated profiles, their vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
import numpy as np

from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.resemblance import VIEW, Exemplars
from cerebro_serve.store import SqlStore
from cerebro_serve.store.learning import FeedbackFilter
from cerebro_serve.training.dataset import WorkflowLog, allows_learning, rating_pairs, tracking_pairs

RESEMBLANCE = FEATURES.index("rated_resemblance")

ViewsOf = Callable[[Sequence[tuple[int, Profile]]], list[np.ndarray]]


def rated_candidates(store: SqlStore, algorithm: Algorithm, job_id: int, views_of: ViewsOf) -> Exemplars | None:
    """The job's rated candidates for `algorithm`, or None when it does not weigh them or none may count
    (`views_of`: stored records' view vectors, services/anchors.py)."""
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
    profiles = []
    for stored in store.records.load_records(sorted(label)):
        profile = msgspec.json.decode(stored.body, type=PROFILE.type)
        if stored.kind == PROFILE.name and allows_learning(profile):
            profiles.append((stored.id, profile))
    if not profiles:
        return None
    ids = [record_id for record_id, _ in profiles]
    vectors = np.stack([views[VIEW] for views in views_of(profiles)]).astype(np.float32)
    return Exemplars(np.array(ids, dtype=np.int64), vectors, np.array([bool(label[i]) for i in ids]))
