"""Which algorithm version answered each scoring call, recorded off the request path: calls are queued
in memory and written in batches by a thread of their own (at most `FLUSH_SECONDS` behind), so a
scoring request never waits on a database write. The scores returned go to the version's distribution in
memory (services/score_drift.py), which the metrics endpoint reads."""

from __future__ import annotations

import numpy as np

from cerebro_serve.services.background import BatchWriter
from cerebro_serve.services.score_drift import ScoreDistributions
from cerebro_serve.store.learning import LearningStore, ScoringCall

FLUSH_SECONDS = 1.0


class ScoringRecorder:
    def __init__(self, store: LearningStore) -> None:
        self.store = store
        self.scores = ScoreDistributions()
        self._writer: BatchWriter[ScoringCall] = BatchWriter(
            "cerebro-scoring-log", FLUSH_SECONDS, store.add_scoring_calls
        )

    def record(self, call: ScoringCall, scores: np.ndarray) -> None:
        """`scores`: the page's, as returned."""
        self._writer.add(call)
        self.scores.add(call.algorithm_key, call.version, scores)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
