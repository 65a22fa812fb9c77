"""Which algorithm version answered each scoring call, recorded off the request path: calls are queued
in memory and written in batches by a thread of their own (at most `FLUSH_SECONDS` behind), so a
scoring request never waits on a database write."""

from __future__ import annotations

from cerebro_serve.services.background import BatchWriter
from cerebro_serve.store.learning import LearningStore, ScoringCall

FLUSH_SECONDS = 1.0


class ScoringRecorder:
    def __init__(self, store: LearningStore) -> None:
        self.store = store
        self._writer: BatchWriter[ScoringCall] = BatchWriter(
            "cerebro-scoring-log", FLUSH_SECONDS, store.add_scoring_calls
        )

    def record(self, call: ScoringCall) -> None:
        self._writer.add(call)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
