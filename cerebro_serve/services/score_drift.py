"""The scores each algorithm version returns, as this process saw them: a histogram, and their drift.

Drift is the population stability index (PSI) of the version's recent scores against its reference: the
first `REFERENCE_SIZE` scores this process returned with it. The bins are the reference's deciles, so each
holds a tenth of the reference; `PSI = sum((recent_i - reference_i) * ln(recent_i / reference_i))` over
the bins' shares, an empty bin counting as `EMPTY_SHARE`. Read as the credit-risk practice does: under 0.1
stable, 0.1 to 0.25 a shift worth a look, above 0.25 a different population (or a changed model).
`RECENT_SIZE` is the window compared: the latest scores, once the reference is complete. The figures
start again with the process: a restart re-learns the reference.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# Upper bounds of the histogram's buckets (scores are calibrated to [0, 1]).
SCORE_BUCKETS = tuple(round(0.1 * step, 1) for step in range(1, 11))
REFERENCE_SIZE = 1000
RECENT_SIZE = 1000
MIN_RECENT = 100  # fewer recent scores than this give no drift figure: too noisy
PSI_BINS = 10
EMPTY_SHARE = 1e-4


@dataclass(frozen=True, slots=True)
class VersionScores:
    """One algorithm version's figures at a scrape."""

    algorithm_key: str
    version: int
    calls: int
    bucket_counts: tuple[int, ...]  # cumulative, one per SCORE_BUCKETS bound
    count: int
    total: float
    psi: float | None  # None until the reference is complete and enough recent scores came


class _Window:
    def __init__(self) -> None:
        self.calls = 0
        self.buckets = np.zeros(len(SCORE_BUCKETS), dtype=np.int64)
        self.count = 0
        self.total = 0.0
        self.reference = np.empty(REFERENCE_SIZE, dtype=np.float64)
        self.referenced = 0
        self.recent = np.empty(RECENT_SIZE, dtype=np.float64)
        self.recent_count = 0  # scores written to the ring so far (its next slot is this modulo its size)

    def add(self, scores: np.ndarray) -> None:
        self.calls += 1
        self.buckets += np.bincount(np.searchsorted(SCORE_BUCKETS, scores), minlength=len(SCORE_BUCKETS) + 1)[
            : len(SCORE_BUCKETS)
        ]
        self.count += len(scores)
        self.total += float(scores.sum())
        taken = min(len(scores), REFERENCE_SIZE - self.referenced)
        self.reference[self.referenced : self.referenced + taken] = scores[:taken]
        self.referenced += taken
        later = scores[taken:][-RECENT_SIZE:]
        self.recent[(self.recent_count + np.arange(len(later))) % RECENT_SIZE] = later
        self.recent_count += len(later)

    def psi(self) -> float | None:
        if self.referenced < REFERENCE_SIZE or self.recent_count < MIN_RECENT:
            return None
        return population_stability(self.reference, self.recent[: min(self.recent_count, RECENT_SIZE)])


def population_stability(reference: np.ndarray, recent: np.ndarray) -> float:
    """PSI of `recent` against `reference`, over the reference's deciles (ties merge bins)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    actual = np.bincount(np.searchsorted(edges, recent, side="right"), minlength=len(edges) + 1)
    expected_share = np.maximum(expected / len(reference), EMPTY_SHARE)
    actual_share = np.maximum(actual / len(recent), EMPTY_SHARE)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


class ScoreDistributions:
    """Per algorithm version; `add` is on the request path: a few numpy operations under a lock."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int], _Window] = {}
        self._lock = threading.Lock()

    def add(self, algorithm_key: str, version: int, scores: np.ndarray) -> None:
        scores = np.asarray(scores, dtype=np.float64)
        with self._lock:
            window = self._windows.setdefault((algorithm_key, version), _Window())
            window.add(scores)

    def snapshot(self) -> list[VersionScores]:
        with self._lock:
            return [
                VersionScores(
                    key,
                    version,
                    window.calls,
                    tuple(int(count) for count in np.cumsum(window.buckets)),
                    window.count,
                    window.total,
                    window.psi(),
                )
                for (key, version), window in self._windows.items()
            ]
