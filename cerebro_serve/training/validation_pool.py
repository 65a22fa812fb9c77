"""How a version ranks a held-out job's whole pool, not only the candidates rated for it.

The candidates a recruiter rated were shown because the serving version ranked them high, so ranking
them among themselves says little (every version puts the few good ones first: nDCG@10 saturates at 1).
Here each validation job ranks every profile of the feedback: its positives, graded by their relevance,
against everyone else, rated for it or not. That is what a customer sees, and what moves when a version
learns a notion of fit the previous one did not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics

from cerebro_serve.training.dataset import Pair

DEPTH = 10


@dataclass(frozen=True, slots=True)
class ValidationPool:
    jobs: list[int]
    profiles: list[int]
    gains: np.ndarray  # jobs x profiles: a positive's relevance, else 0

    @classmethod
    def of(cls, validation: Sequence[Pair], profiles: Sequence[int]) -> ValidationPool:
        jobs = sorted({pair.job_id for pair in validation})
        profiles = sorted(set(profiles) | {pair.profile_id for pair in validation})
        job_row = {job: row for row, job in enumerate(jobs)}
        profile_column = {profile: column for column, profile in enumerate(profiles)}
        gains = np.zeros((len(jobs), len(profiles)))
        for pair in validation:
            if pair.label:
                gains[job_row[pair.job_id], profile_column[pair.profile_id]] = max(pair.relevance, 1e-3)
        return cls(jobs, profiles, gains)

    @property
    def pairs(self) -> list[Pair]:
        """Every (job, profile) of the pool, job by job, as the pair features are computed."""
        return [Pair(profile, job, 0, 0.0) for job in self.jobs for profile in self.profiles]

    def per_job(self, scores: np.ndarray) -> dict[str, np.ndarray]:
        """nDCG@10, average precision and precision@10 (out of the positives there are, when fewer than
        10) of each job with a positive, to compare versions job by job; `scores` in the order of `pairs`."""
        scores = np.asarray(scores, dtype=float).reshape(len(self.jobs), len(self.profiles))
        ndcg, average_precision, precision = [], [], []
        for row in (row for row in range(len(self.jobs)) if self.gains[row].any()):
            gains, row_scores = self.gains[row], scores[row]
            ndcg.append(float(metrics.ndcg_score([gains], [row_scores], k=DEPTH)))
            average_precision.append(float(metrics.average_precision_score(gains > 0, row_scores)))
            top = np.argsort(-row_scores, kind="stable")[:DEPTH]
            precision.append(float((gains[top] > 0).sum() / min(DEPTH, int((gains > 0).sum()))))
        return {"ndcg@10": np.array(ndcg), "map": np.array(average_precision), "precision@10": np.array(precision)}

    def quality(self, per_job: dict[str, np.ndarray]) -> dict[str, Any]:
        """`per_job` averaged over the jobs, as a training's metrics report it."""
        return {
            "jobs": len(per_job["ndcg@10"]),
            "profiles": len(self.profiles),
            **{name: _mean(values) for name, values in per_job.items()},
        }


def quality_key(pool: dict[str, Any], rated: dict[str, Any]) -> tuple[float, ...]:
    """What the selection and the no-worse gate compare: nDCG@10 and average precision over the pool, then,
    where the pool cannot tell versions apart (its profiles alike but for what the jobs' ratings judge),
    the AUC and the log loss on the rated validation pairs (`rated`: training/metrics.py evaluate)."""
    return pool["ndcg@10"] or 0.0, pool["map"] or 0.0, rated["auc"] or 0.0, -rated["log_loss"]


def _mean(values: np.ndarray) -> float | None:
    return round(float(np.mean(values)), 6) if len(values) else None
