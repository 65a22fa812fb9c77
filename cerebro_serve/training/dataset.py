"""From a workspace's feedback to a training set: labels, the consent filter, the split and the checks.

Each step records what it kept and dropped (`WorkflowLog`), and that log is stored with the training, so
a customer can see why 400 ratings became 310 training pairs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cerebro_serve.objects import Profile
from cerebro_serve.scoring.consent import allows
from cerebro_serve.store.learning import FeedbackRow

log = logging.getLogger(__name__)

MIN_TRAIN_PER_CLASS = 10
MIN_VALIDATION_PER_CLASS = 3
VALIDATION_SHARE = 0.25


class InsufficientData(Exception):
    """Too few labels, or one class only: the message says how many more are needed. `steps` holds the
    workflow's log up to the refusal."""

    def __init__(self, message: str, steps: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.steps = steps


@dataclass
class WorkflowLog:
    steps: list[dict[str, Any]] = field(default_factory=list)

    def record(self, step: str, kept: int, dropped: int = 0, **detail: Any) -> None:
        self.steps.append({"step": step, "kept": kept, "dropped": dropped, **detail})
        log.info("training %s: kept %d, dropped %d %s", step, kept, dropped, detail or "")


@dataclass(frozen=True, slots=True)
class Pair:
    profile_id: int
    job_id: int
    label: int  # 1: a good match, 0: not
    relevance: float  # graded, for ranking metrics: the rating, or how far along the journey


def rating_pairs(rows: Sequence[FeedbackRow]) -> list[Pair]:
    """The latest rating of each (profile, job): 0.5 and above is positive."""
    latest: dict[tuple[int, int], float] = {}
    for row in sorted(rows, key=lambda r: r.created_at_us):
        if row.score is not None:  # every rating has one; trackings have none
            latest[(row.profile_id, row.job_id)] = row.score
    return [Pair(p, j, int(score >= 0.5), float(score)) for (p, j), score in latest.items()]


def tracking_pairs(rows: Sequence[FeedbackRow], goals: list[dict[str, str]], workflow: WorkflowLog) -> list[Pair]:
    """A hiring process is a train line: a candidate leaves at some stage, and reaching further is better.
    A pair that reached a negative goal is negative (relevance 0); otherwise its relevance is 1 + the
    index of the furthest stage it reached among the non-negative goals, and it is positive when that
    stage is marked positive. Actions outside the goals are ignored (and counted)."""
    stages = [goal for goal in goals if goal["outcome"] != "negative"]
    stage_of = {goal["action"]: index for index, goal in enumerate(stages)}
    negative = {goal["action"] for goal in goals if goal["outcome"] == "negative"}
    reached: dict[tuple[int, int], int] = defaultdict(lambda: -1)
    rejected: set[tuple[int, int]] = set()
    unknown = 0
    for row in rows:
        pair = (row.profile_id, row.job_id)
        if row.action in negative:
            rejected.add(pair)
        elif row.action in stage_of:
            reached[pair] = max(reached[pair], stage_of[row.action])
        else:
            unknown += 1
    workflow.record("map tracking actions to goals", kept=len(rows) - unknown, dropped=unknown)
    pairs = [Pair(p, j, 0, 0.0) for p, j in rejected]
    for (p, j), stage in reached.items():
        if (p, j) not in rejected:
            pairs.append(Pair(p, j, int(stages[stage]["outcome"] == "positive"), float(1 + stage)))
    return pairs


def allows_learning(profile: Profile) -> bool:
    """Whether a profile, and the feedback about it, may improve the model: trainings and fairness audits
    use only these. Its privacy level must be `improvement` (the default) and neither its owner nor its
    controller may refuse `training` (or its older name `learning`); see scoring/consent.py."""
    return allows(profile.consent_algorithmic, "training")


def check_counts(pairs: Sequence[Pair], minimum: int, what: str, workflow: WorkflowLog) -> None:
    positives = sum(pair.label for pair in pairs)
    negatives = len(pairs) - positives
    missing = [
        f"{minimum - count} more {name}"
        for count, name in ((positives, "positive"), (negatives, "negative"))
        if count < minimum
    ]
    if missing:
        raise InsufficientData(
            f"not enough labels to train: the {what} has {positives} positive and {negatives} negative "
            f"pairs and needs at least {minimum} of each ({' and '.join(missing)})",
            workflow.steps,
        )


def split(pairs: Sequence[Pair], workflow: WorkflowLog, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Train and validation with no job and no profile in both: a quarter of the jobs (and their pairs)
    validate; training pairs whose profile also appears in validation are dropped."""
    rng = np.random.default_rng(seed)
    jobs = sorted({pair.job_id for pair in pairs})
    rng.shuffle(jobs)
    held = set(jobs[: max(1, round(len(jobs) * VALIDATION_SHARE))]) if len(jobs) > 1 else set()
    validation = [pair for pair in pairs if pair.job_id in held]
    held_profiles = {pair.profile_id for pair in validation}
    train = [pair for pair in pairs if pair.job_id not in held and pair.profile_id not in held_profiles]
    overlap = len(pairs) - len(validation) - len(train)
    workflow.record(
        "split by job and profile",
        kept=len(train) + len(validation),
        dropped=overlap,
        train=len(train),
        validation=len(validation),
        validation_jobs=len(held),
    )
    return train, validation


def balanced_weights(pairs: Sequence[Pair]) -> np.ndarray:
    """Sample weights so that each class, and within it each job, weighs alike: one job with hundreds of
    ratings must not teach the model that job's taste only."""
    per_job: dict[tuple[int, int], int] = defaultdict(int)
    for pair in pairs:
        per_job[(pair.job_id, pair.label)] += 1
    jobs_per_class = {label: sum(1 for (_, job_label) in per_job if job_label == label) for label in (0, 1)}
    weights = np.array([1.0 / (per_job[(pair.job_id, pair.label)] * jobs_per_class[pair.label]) for pair in pairs])
    return weights * len(pairs) / weights.sum()
