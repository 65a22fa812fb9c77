"""One training, start to end: feedback → labelled pairs → consent filter → anonymised records →
debiased features → split → sufficiency check → balanced weights → fusions and adapters fitted at several
pulls → the one that ranks the validation pool best → metrics and what was learned.

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

from cerebro_serve.engine.views import profile_view
from cerebro_serve.index.columns import FeatureColumns
from cerebro_serve.objects import Job, Profile
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.features import term_ids, term_words
from cerebro_serve.scoring.rerank import QueryFeatures, features_of
from cerebro_serve.scoring.resemblance import VIEW as RESEMBLED_VIEW
from cerebro_serve.scoring.resemblance import Exemplars
from cerebro_serve.store.learning import FeedbackRow
from cerebro_serve.training.adapter import fit_adapter
from cerebro_serve.training.anonymize import anonymized
from cerebro_serve.training.boosting import boosted
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
from cerebro_serve.training.learned import what_was_learned
from cerebro_serve.training.metrics import evaluate
from cerebro_serve.training.terms import preferred_terms
from cerebro_serve.training.trainer import Cancelled, Labelled, base_logits, fine_tune
from cerebro_serve.training.validation_pool import ValidationPool, quality_key

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


# How far a version may move from the previous one, strongest pull first:
# the fusion's prior precision per parameter (training/trainer.py) and the adapter's pull to the identity
# (training/adapter.py). Which one serves is chosen on the validation pool (`_chosen`).
FUSION_PULLS = (10.0, 1.0, 0.1, 0.01)
ADAPTER_PULLS = (1.0, 0.1, 0.01)
# Trees boosted on the best linear fine-tune of each query space (training/boosting.py). A version holds at
# most MAX_TREES (the re-ranker walks every tree for every candidate, and each training appends to the
# previous version's): once a workspace's versions hold that many, trainings refit the rest only.
TREE_ROUNDS = (10, 30)
MAX_TREES = 200


@dataclass(frozen=True, slots=True)
class QuerySpace:
    """A query adapter and the pair features it gives the training pairs, the rated validation pairs and
    the validation pool (the full-text similarity is the adapted one, as served)."""

    pull: float | None  # None: the previous version's adapter (or none)
    adapter: np.ndarray | None
    preferred_words: tuple[str, ...]  # the words a job's query carries (training/terms.py)
    train: np.ndarray
    validation: np.ndarray
    pool: np.ndarray

    @classmethod
    def of(
        cls,
        pull: float | None,
        adapter: np.ndarray | None,
        preferred: tuple[str, ...],
        prepared: Prepared,
        pool: ValidationPool,
        described: dict[int, Described],
    ) -> QuerySpace:
        """A job's rated candidates are its training pairs, or for a validation job its validation pairs
        (each candidate left out of its own resemblance, as scoring/resemblance.py computes it)."""
        words = term_ids(preferred)
        trained, validated = exemplars_of(prepared.train, described), exemplars_of(prepared.validation, described)
        return cls(
            pull,
            adapter,
            preferred,
            pair_features(prepared.train, described, adapter, words, trained),
            pair_features(prepared.validation, described, adapter, words, validated),
            pair_features(pool.pairs, described, adapter, words, validated),
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    algorithm: Algorithm
    curve: list[dict[str, Any]]
    space: QuerySpace
    fusion_pull: float
    tree_rounds: int  # trees boosted on top of the linear fine-tune (training/boosting.py)
    pool_quality: dict[str, Any]
    validation: dict[str, Any]  # on the rated validation pairs (training/metrics.py evaluate)
    pool_ndcg: np.ndarray  # nDCG@10 per validation job

    @property
    def key(self) -> tuple[float, ...]:
        return quality_key(self.pool_quality, self.validation)


def _candidate(
    algorithm: Algorithm,
    curve: list[dict[str, Any]],
    space: QuerySpace,
    fusion_pull: float,
    tree_rounds: int,
    pool: ValidationPool,
    validation: list[Pair],
) -> Candidate:
    """A fitted version and how it ranks the validation pool and the rated validation pairs."""
    per_job = pool.per_job(_scores(algorithm, space.pool))
    return Candidate(
        algorithm,
        curve,
        space,
        fusion_pull,
        tree_rounds,
        pool.quality(per_job),
        _report(validation, space.validation, algorithm),
        per_job["ndcg@10"],
    )


def _chosen(candidates: list[Candidate], previous_key: tuple[float, ...], previous_ndcg: np.ndarray) -> Candidate:
    """The candidate whose gain over the previous version is surest: the largest lower bound (mean minus
    one standard error, over the validation jobs) of its nDCG@10 gain on the validation pool, among those
    no worse than the previous version. With a few validation jobs and dozens of candidates the best mean
    is partly luck, and a version that wins by luck does worse on jobs nobody validated. The best itself
    where none qualifies (the gate then refuses it)."""
    eligible = [c for c in candidates if c.key >= previous_key]
    if not eligible:
        return max(candidates, key=lambda candidate: candidate.key)

    def surest(candidate: Candidate) -> tuple[float, ...]:
        gain = candidate.pool_ndcg - previous_ndcg
        spread = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
        return (float(gain.mean() - spread), *candidate.key)

    return max(eligible, key=surest)


def fit_version(
    base: Algorithm,
    prepared: Prepared,
    described: dict[int, Described],
    workflow: WorkflowLog,
    should_stop: Callable[[float], bool],
) -> TrainingResult:
    """The new version from the prepared pairs and their records' view vectors and features (by record
    id). Candidates are fitted at every pull in ADAPTER_PULLS x FUSION_PULLS (and in the previous
    version's query space), with trees boosted on the best of each space; the one whose gain on the
    validation jobs' whole pool is surest serves (`_chosen`). A version that
    ranks that pool worse than the serving one is refused (`NotBetter`), so what serves never gets worse
    by a training, scheduled or not. `should_stop(progress)` reports progress in [0.3, 1] and says
    whether to cancel."""
    train, validation = prepared.train, prepared.validation
    workflow.record("features and embeddings", kept=len(described))
    if should_stop(0.3):
        raise Cancelled
    pool = ValidationPool.of(validation, [i for i, r in prepared.records.items() if isinstance(r, Profile)])
    spaces = [QuerySpace.of(None, base.adapter, base.preferred_words, prepared, pool, described)]
    found = _term_names(preferred_terms(train, {i: record[1] for i, record in described.items()}), prepared.records)
    preferred = tuple(found) or base.preferred_words
    if preferred != base.preferred_words:
        spaces.append(QuerySpace.of(None, base.adapter, preferred, prepared, pool, described))
    for index, pull in enumerate(ADAPTER_PULLS):

        def adapter_progress(progress: float, index: int = index) -> bool:
            return should_stop(0.3 + 0.2 * (index + progress) / len(ADAPTER_PULLS))

        adapter = train_adapter(train, described, adapter_progress, pull)
        spaces.append(QuerySpace.of(pull, adapter, preferred, prepared, pool, described))
    previous = spaces[0]
    previous_per_job = pool.per_job(_scores(base, previous.pool))
    previous_quality = pool.quality(previous_per_job)
    previous_validation = _report(validation, previous.validation, base)

    candidates: list[Candidate] = []
    for index, space in enumerate(spaces):
        train_set = Labelled(space.train, _labels(train), balanced_weights(train))
        validation_set = Labelled(space.validation, _labels(validation), balanced_weights(validation))
        for fusion_pull in FUSION_PULLS:

            def fusion_progress(progress: float, index: int = index) -> bool:
                return should_stop(0.5 + 0.4 * (index + progress) / len(spaces))

            tuned = fine_tune(base, train_set, validation_set, fusion_progress, fusion_pull)
            algorithm = dataclasses.replace(
                tuned.algorithm, adapter=space.adapter, preferred_words=space.preferred_words
            )
            candidates.append(_candidate(algorithm, tuned.curve, space, fusion_pull, 0, pool, validation))
        linear = max(candidates[-len(FUSION_PULLS) :], key=lambda candidate: candidate.key)
        for rounds in (r for r in TREE_ROUNDS if base.tree_count + r <= MAX_TREES):
            algorithm = boosted(linear.algorithm, train_set, rounds)
            candidates.append(_candidate(algorithm, linear.curve, space, linear.fusion_pull, rounds, pool, validation))
    chosen = _chosen(candidates, quality_key(previous_quality, previous_validation), previous_per_job["ndcg@10"])
    workflow.record(
        "choose how far to move",
        kept=1,
        dropped=len(candidates) - 1,
        rule="every pull of the fusion and the query adapter is fitted, and trees boosted on the best of each "
        "query space; of those that rank the validation jobs' whole pool no worse than the serving version "
        "(nDCG@10 and AP, then AUC and log loss on the rated validation pairs), the one whose nDCG@10 gain is "
        "surest serves: the largest mean gain over the validation jobs minus its standard error",
        adapter_pull=chosen.space.pull,
        fusion_pull=chosen.fusion_pull,
        tree_rounds=chosen.tree_rounds,
        validation_pool_ndcg=chosen.pool_quality["ndcg@10"],
        previous_validation_pool_ndcg=previous_quality["ndcg@10"],
    )
    algorithm = chosen.algorithm
    metrics: dict[str, Any] = {
        "train": _report(train, chosen.space.train, algorithm),
        "validation": chosen.validation,
        # The version it was trained from (the one serving when it started), on the same pairs and pool.
        "previous_validation": previous_validation,
        "validation_pool": {"version": chosen.pool_quality, "previous": previous_quality},
        "loss_curve": chosen.curve,
        "adapter": {"used": chosen.space.pull is not None, "pull": chosen.space.pull},
        "preferred_terms": {
            "found": found,
            "used": chosen.space.preferred_words != base.preferred_words,
        },
        "fusion_pull": chosen.fusion_pull,
        "tree_rounds": chosen.tree_rounds,
        "selection": [
            {
                "adapter_pull": c.space.pull,
                "preferred_terms": len(c.space.preferred_words),
                "fusion_pull": c.fusion_pull,
                "tree_rounds": c.tree_rounds,
                **c.pool_quality,
            }
            for c in candidates
        ],
        "learned": what_was_learned(
            base,
            previous.pool,
            algorithm,
            chosen.space.pool,
            pool,
            _as_before(base, chosen.space, pool, validation, described),
            chosen.pool_quality,
            previous_quality,
        ),
        "workflow": workflow.steps,
    }
    if chosen.key < quality_key(previous_quality, previous_validation):
        raise NotBetter(
            f"not published: the new version ranks the validation jobs' pools worse (nDCG@10 "
            f"{chosen.pool_quality['ndcg@10']}, AP {chosen.pool_quality['map']}) than the serving one "
            f"({previous_quality['ndcg@10']}, {previous_quality['map']})",
            workflow.steps,
        )
    scored = Validated(
        [p.profile_id for p in validation],
        _scores(algorithm, chosen.space.validation),
        _scores(base, previous.validation),
    )
    return TrainingResult(algorithm, metrics, workflow, scored)


def _report(pairs: list[Pair], features: np.ndarray, algorithm: Algorithm) -> dict[str, Any]:
    scores = _scores(algorithm, features)
    return evaluate(_labels(pairs), scores, np.array([p.relevance for p in pairs]), [p.job_id for p in pairs])


class NotBetter(InsufficientData):
    """The trained version would rank the held-out jobs worse than the one serving: it is not published."""


def train_adapter(
    train: Sequence[Pair], described: dict[int, Described], should_stop: Callable[[float], bool], pull: float
) -> np.ndarray:
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
        pull,
    )


def exemplars_of(pairs: Sequence[Pair], described: dict[int, Described]) -> dict[int, Exemplars]:
    """Each job's rated candidates among the pairs (scoring/resemblance.py), by job id."""
    by_job: dict[int, list[Pair]] = {}
    for pair in pairs:
        by_job.setdefault(pair.job_id, []).append(pair)
    return {
        job: Exemplars(
            np.array([p.profile_id for p in rated], dtype=np.int64),
            np.stack([described[p.profile_id][0][RESEMBLED_VIEW] for p in rated]).astype(np.float32),
            np.array([bool(p.label) for p in rated]),
        )
        for job, rated in by_job.items()
    }


def pair_features(
    pairs: Sequence[Pair],
    described: dict[int, Described],
    adapter: np.ndarray | None,
    preferred: Sequence[int] = (),
    exemplars: dict[int, Exemplars] | None = None,
) -> np.ndarray:
    """The re-ranker's features of each (job, profile) pair, computed by the same native code that serves
    (with the adapter, the full-text similarity is the adapted one; with preferred words, the job's query
    carries them; with `exemplars`, each job's rated candidates: as served)."""
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
        vector = embedding[0] if adapter is None else adapter @ embedding[0]
        cosine = (full @ vector).astype(np.float32)
        query = QueryFeatures.of(features, embedding, True, preferred, (exemplars or {}).get(job))
        out[positions] = features_of(snapshot, query, rows, cosine)
    return out


def _as_before(
    previous: Algorithm,
    space: QuerySpace,
    pool: ValidationPool,
    validation: Sequence[Pair],
    described: dict[int, Described],
) -> dict[str, np.ndarray]:
    """The validation pool's pairs in the chosen query space with its adapter, then its preferred words, as
    the previous version had them (where they changed): what each change is worth (training/learned.py)."""
    pairs, words, rated = pool.pairs, term_ids(space.preferred_words), exemplars_of(validation, described)
    as_before = {}
    if space.pull is not None:
        as_before["adapter"] = pair_features(pairs, described, previous.adapter, words, rated)
    if space.preferred_words != previous.preferred_words:
        as_before["words"] = pair_features(pairs, described, space.adapter, previous.preferred_terms, rated)
    return as_before


def _term_names(terms: Sequence[int], records: dict[int, Profile | Job]) -> list[str]:
    """The words of these term ids, as the anonymised profiles write them (ids no profile names are left out)."""
    wanted, names = set(terms), dict[int, str]()
    for record in records.values():
        if isinstance(record, Profile) and len(names) < len(wanted):
            names |= {term: word for term, word in term_words(profile_view(record)).items() if term in wanted}
    return [names[term] for term in terms if term in names]


def _scores(algorithm: Algorithm, features: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-base_logits(algorithm, features)))


def _labels(pairs: Sequence[Pair]) -> np.ndarray:
    return np.array([p.label for p in pairs], dtype=int)
