"""One training, start to end: feedback → labelled pairs → consent filter → anonymised records →
debiased features → split → sufficiency check → balanced weights → fine-tuned fusion → metrics.

The pipeline reads records and embeds them through the callables it is given, so it runs the same in the
server's process and in a `cerebro-serve worker` process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cerebro_serve.index.columns import FeatureColumns
from cerebro_serve.objects import Job, Profile
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.features import RecordFeatures
from cerebro_serve.scoring.rerank import QueryFeatures, features_of
from cerebro_serve.store.learning import FeedbackRow
from cerebro_serve.training.anonymize import anonymized
from cerebro_serve.training.dataset import (
    MIN_TRAIN_PER_CLASS,
    MIN_VALIDATION_PER_CLASS,
    InsufficientData,
    Pair,
    WorkflowLog,
    allows_learning,
    balanced_weights,
    check_counts,
    rating_pairs,
    split,
    tracking_pairs,
)
from cerebro_serve.training.metrics import evaluate
from cerebro_serve.training.trainer import Cancelled, Labelled, base_logits, fine_tune

# What never reaches the model: the anonymisation removes these from the records before features and
# embeddings are computed, and none of the model's features is derived from them.
PROTECTED_ATTRIBUTES = ("name", "email", "phone", "urls", "picture", "date_birth", "gender", "gender words")

Described = tuple[np.ndarray, RecordFeatures]  # a record's view vectors and features


@dataclass(frozen=True, slots=True)
class TrainingResult:
    algorithm: Algorithm
    metrics: dict[str, Any]
    log: WorkflowLog


def run_training(
    base: Algorithm,
    rows: Sequence[FeedbackRow],
    mode: str,
    goals: list[dict[str, str]] | None,
    load: Callable[[list[int]], dict[int, Profile | Job]],
    describe: Callable[[list[Profile | Job]], list[Described]],
    should_stop: Callable[[float], bool],
) -> TrainingResult:
    """`should_stop(progress)` reports progress in [0, 1] and says whether to cancel."""
    workflow = WorkflowLog()
    try:
        return _run(workflow, base, rows, mode, goals, load, describe, should_stop)
    except InsufficientData as refusal:
        refusal.steps = workflow.steps
        raise


def _run(
    workflow: WorkflowLog,
    base: Algorithm,
    rows: Sequence[FeedbackRow],
    mode: str,
    goals: list[dict[str, str]] | None,
    load: Callable[[list[int]], dict[int, Profile | Job]],
    describe: Callable[[list[Profile | Job]], list[Described]],
    should_stop: Callable[[float], bool],
) -> TrainingResult:
    workflow.record("select feedback", kept=len(rows))
    pairs = rating_pairs(rows) if mode == "rating" else tracking_pairs(rows, goals or [], workflow)
    workflow.record("label pairs", kept=len(pairs), positives=sum(p.label for p in pairs))
    check_counts(pairs, MIN_TRAIN_PER_CLASS + MIN_VALIDATION_PER_CLASS, "feedback")

    records = load(sorted({p.profile_id for p in pairs} | {p.job_id for p in pairs}))
    consenting = [p for p in pairs if allows_learning(records[p.profile_id])]  # type: ignore[arg-type]
    workflow.record("privacy consent", kept=len(consenting), dropped=len(pairs) - len(consenting),
                    rule="profiles whose consent_algorithmic sets learning=false are left out")
    used = sorted({p.profile_id for p in consenting} | {p.job_id for p in consenting})
    anonymous = [anonymized(records[i]) for i in used]
    workflow.record("anonymise", kept=len(used), removed=list(PROTECTED_ATTRIBUTES))
    workflow.record("debias", kept=len(FEATURES), features=list(FEATURES),
                    rule="the model sees only job-related features computed from anonymised records")

    train, validation = split(consenting, workflow)
    check_counts(train, MIN_TRAIN_PER_CLASS, "training split")
    check_counts(validation, MIN_VALIDATION_PER_CLASS, "validation split")
    workflow.record("balance classes and jobs", kept=len(train), positives=sum(p.label for p in train))
    if should_stop(0.05):
        raise Cancelled

    described = dict(zip(used, describe(anonymous)))
    workflow.record("features and embeddings", kept=len(described))
    if should_stop(0.3):
        raise Cancelled
    train_features, validation_features = pair_features(train, described), pair_features(validation, described)
    train_set = Labelled(train_features, _labels(train), balanced_weights(train))
    validation_set = Labelled(validation_features, _labels(validation), balanced_weights(validation))
    tuned = fine_tune(base, train_set, validation_set, lambda progress: should_stop(0.3 + 0.6 * progress))

    def report(pairs: list[Pair], features: np.ndarray, algorithm: Algorithm) -> dict[str, Any]:
        scores = 1.0 / (1.0 + np.exp(-base_logits(algorithm, features)))
        return evaluate(_labels(pairs), scores, np.array([p.relevance for p in pairs]), [p.job_id for p in pairs])

    metrics = {
        "train": report(train, train_features, tuned.algorithm),
        "validation": report(validation, validation_features, tuned.algorithm),
        "base_validation": report(validation, validation_features, base),
        "loss_curve": tuned.curve,
        "workflow": workflow.steps,
    }
    return TrainingResult(tuned.algorithm, metrics, workflow)


def pair_features(pairs: Sequence[Pair], described: dict[int, Described]) -> np.ndarray:
    """The re-ranker's features of each (job, profile) pair, computed by the same native code that serves."""
    profiles = sorted({p.profile_id for p in pairs})
    row_of = {profile: row for row, profile in enumerate(profiles)}
    dimension = next(iter(described.values()))[0].shape[1]
    columns = FeatureColumns(dimension, capacity=max(1, len(profiles)))
    for profile in profiles:
        embedding, features = described[profile]
        columns.upsert(profile, 0, 0, features, embedding[1:])
    snapshot = columns.snapshot()
    out = np.zeros((len(pairs), len(FEATURES)), dtype=np.float32)
    by_job: dict[int, list[int]] = {}
    for position, pair in enumerate(pairs):
        by_job.setdefault(pair.job_id, []).append(position)
    for job, positions in by_job.items():
        embedding, features = described[job]
        rows = np.array([row_of[pairs[i].profile_id] for i in positions], dtype=np.int64)
        full = np.stack([described[pairs[i].profile_id][0][0] for i in positions])
        cosine = (full @ embedding[0]).astype(np.float32)
        out[positions] = features_of(snapshot, QueryFeatures.of(features, embedding, is_job=True), rows, cosine)
    return out


def _labels(pairs: Sequence[Pair]) -> np.ndarray:
    return np.array([p.label for p in pairs], dtype=int)
