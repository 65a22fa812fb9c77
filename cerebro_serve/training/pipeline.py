"""One training, start to end: feedback → labelled pairs → consent filter → anonymised records →
debiased features → split → sufficiency check → balanced weights → fine-tuned fusion → metrics.

Functions over data: the caller (services/training.py) reads the feedback and the records and embeds
them between the steps (`labelled_pairs`, `prepare`, `fit_version`), so the same steps run in the
server's process, in a `cerebro-serve worker` process and in the benchmarks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cerebro_serve.index.columns import FeatureColumns
from cerebro_serve.objects import Job, Profile
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, features_of
from cerebro_serve.store.learning import FeedbackRow
from cerebro_serve.training.adapter import fit_adapter
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
class Prepared:
    train: list[Pair]
    validation: list[Pair]
    records: dict[int, Profile | Job]  # anonymised, by record id: every profile and job of the pairs


def labelled_pairs(
    rows: Sequence[FeedbackRow], mode: str, goals: list[dict[str, str]] | None, workflow: WorkflowLog
) -> list[Pair]:
    """Feedback to labelled (profile, job) pairs, refused when too few to train on. The caller then reads
    the records of `record_ids(pairs)` for `prepare`."""
    workflow.record("select feedback", kept=len(rows))
    pairs = rating_pairs(rows) if mode == "rating" else tracking_pairs(rows, goals or [], workflow)
    workflow.record("label pairs", kept=len(pairs), positives=sum(p.label for p in pairs))
    check_counts(pairs, MIN_TRAIN_PER_CLASS + MIN_VALIDATION_PER_CLASS, "feedback", workflow)
    return pairs


def record_ids(pairs: Sequence[Pair]) -> list[int]:
    return sorted({p.profile_id for p in pairs} | {p.job_id for p in pairs})


def prepare(pairs: Sequence[Pair], records: dict[int, Profile | Job], workflow: WorkflowLog) -> Prepared:
    """Labelled pairs to checked training and validation pairs over anonymised records (every training's
    data workflow, whatever it then fits). The caller describes `Prepared.records` for `fit_version`."""
    consenting = [p for p in pairs if allows_learning(records[p.profile_id])]  # type: ignore[arg-type]  # a pair's profile_id names a Profile
    workflow.record(
        "privacy consent",
        kept=len(consenting),
        dropped=len(pairs) - len(consenting),
        rule="pairs whose profile may not improve the model are left out: its consent_algorithmic refuses "
        "training (or learning), or its privacy level is private or personalisation",
        profiles_left_out=len({p.profile_id for p in pairs} - {p.profile_id for p in consenting}),
    )
    used = sorted({p.profile_id for p in consenting} | {p.job_id for p in consenting})
    anonymous = {i: anonymized(records[i]) for i in used}
    workflow.record("anonymise", kept=len(used), removed=list(PROTECTED_ATTRIBUTES))
    workflow.record(
        "debias",
        kept=len(FEATURES),
        features=list(FEATURES),
        rule="the model sees only job-related features computed from anonymised records",
    )

    train, validation = split(consenting, workflow)
    check_counts(train, MIN_TRAIN_PER_CLASS, "training split", workflow)
    check_counts(validation, MIN_VALIDATION_PER_CLASS, "validation split", workflow)
    workflow.record("balance classes and jobs", kept=len(train), positives=sum(p.label for p in train))
    return Prepared(train, validation, anonymous)


@dataclass(frozen=True, slots=True)
class Validated:
    """The scores the new and the serving version give the validation pairs (what the release gate audits)."""

    profile_ids: list[int]
    scores: np.ndarray
    serving_scores: np.ndarray


@dataclass(frozen=True, slots=True)
class TrainingResult:
    algorithm: Algorithm
    metrics: dict[str, Any]
    log: WorkflowLog
    validated: Validated


def fit_version(
    base: Algorithm,
    prepared: Prepared,
    described: dict[int, Described],
    workflow: WorkflowLog,
    should_stop: Callable[[float], bool],
) -> TrainingResult:
    """The new version from the prepared pairs and their records' view vectors and features (by record
    id). `should_stop(progress)` reports progress in [0.3, 1] and says whether to cancel. A version that
    ranks the validation jobs worse than the serving one is refused (`NotBetter`), so what serves never
    gets worse by a training, scheduled or not."""
    train, validation = prepared.train, prepared.validation
    workflow.record("features and embeddings", kept=len(described))
    if should_stop(0.3):
        raise Cancelled
    adapter = train_adapter(train, described, lambda progress: should_stop(0.3 + 0.2 * progress))

    def report(pairs: list[Pair], features: np.ndarray, algorithm: Algorithm) -> dict[str, Any]:
        scores = _scores(algorithm, features)
        return evaluate(_labels(pairs), scores, np.array([p.relevance for p in pairs]), [p.job_id for p in pairs])

    # The fusion is fitted twice: with the previous version's query space (its adapter, or none) and with
    # the new adapter; the new adapter is kept only when it ranks the validation jobs better.
    candidates = []
    for index, candidate_adapter in enumerate((base.adapter, adapter)):
        train_features = pair_features(train, described, candidate_adapter)
        validation_features = pair_features(validation, described, candidate_adapter)
        train_set = Labelled(train_features, _labels(train), balanced_weights(train))
        validation_set = Labelled(validation_features, _labels(validation), balanced_weights(validation))

        def progress_at(progress: float, index: int = index) -> bool:
            return should_stop(0.5 + 0.2 * (index + progress))

        tuned = fine_tune(base, train_set, validation_set, progress_at)
        algorithm = dataclasses.replace(tuned.algorithm, adapter=candidate_adapter)
        validated = report(validation, validation_features, algorithm)
        candidates.append((algorithm, tuned.curve, train_features, validation_features, validated))
    unchanged, adapted = candidates
    use_adapter = _ranking_quality(adapted[4]) > _ranking_quality(unchanged[4])
    algorithm, curve, train_features, validation_features, validated = adapted if use_adapter else unchanged
    workflow.record(
        "query adapter",
        kept=int(use_adapter),
        dropped=int(not use_adapter),
        validation_ndcg_with=adapted[4]["ndcg@10"],
        validation_ndcg_previous=unchanged[4]["ndcg@10"],
    )
    serving_features = pair_features(validation, described, base.adapter)
    metrics: dict[str, Any] = {
        "train": report(train, train_features, algorithm),
        "validation": validated,
        # The version it was trained from (the one serving when it started), on the same pairs.
        "previous_validation": report(validation, serving_features, base),
        "loss_curve": curve,
        "adapter": {
            "used": use_adapter,
            "validation_ndcg@10_with": adapted[4]["ndcg@10"],
            "validation_ndcg@10_previous_space": unchanged[4]["ndcg@10"],
        },
        "workflow": workflow.steps,
    }
    if _ranking_quality(validated) < _ranking_quality(metrics["previous_validation"]):
        raise NotBetter(
            f"not published: on the validation pairs the new version ranks worse (nDCG@10 "
            f"{validated['ndcg@10']}, AUC {validated['auc']}) than the serving one "
            f"({metrics['previous_validation']['ndcg@10']}, {metrics['previous_validation']['auc']})",
            workflow.steps,
        )
    scored = Validated(
        [p.profile_id for p in validation],
        _scores(algorithm, validation_features),
        _scores(base, serving_features),
    )
    return TrainingResult(algorithm, metrics, workflow, scored)


class NotBetter(InsufficientData):
    """The trained version would rank the held-out jobs worse than the one serving: it is not published."""


def train_adapter(train: Sequence[Pair], described: dict[int, Described], should_stop) -> np.ndarray:
    jobs = sorted({p.job_id for p in train})
    profiles = sorted({p.profile_id for p in train})
    job_row = {job: row for row, job in enumerate(jobs)}
    profile_row = {profile: row for row, profile in enumerate(profiles)}
    labelled = [(job_row[p.job_id], profile_row[p.profile_id], p.label) for p in train]
    return fit_adapter(
        np.stack([described[job][0][0] for job in jobs]),
        np.stack([described[profile][0][0] for profile in profiles]),
        [(job, profile) for job, profile, label in labelled if label == 1],
        [(job, profile) for job, profile, label in labelled if label == 0],
        should_stop,
    )


def pair_features(pairs: Sequence[Pair], described: dict[int, Described], adapter: np.ndarray | None) -> np.ndarray:
    """The re-ranker's features of each (job, profile) pair, computed by the same native code that serves
    (with the adapter, the full-text similarity is the adapted one, as served)."""
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
        query = embedding[0] if adapter is None else adapter @ embedding[0]
        cosine = (full @ query).astype(np.float32)
        out[positions] = features_of(snapshot, QueryFeatures.of(features, embedding, is_job=True), rows, cosine)
    return out


def _scores(algorithm: Algorithm, features: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-base_logits(algorithm, features)))


def _ranking_quality(metrics: dict[str, Any]) -> tuple[float, float]:
    return metrics["ndcg@10"] or 0.0, metrics["auc"] or 0.0


def _labels(pairs: Sequence[Pair]) -> np.ndarray:
    return np.array([p.label for p in pairs], dtype=int)
