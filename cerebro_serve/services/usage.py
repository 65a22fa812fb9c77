"""Which algorithm version answered each scoring call, recorded off the request path: calls are queued
in memory and written in batches by a thread of their own (at most `FLUSH_SECONDS` behind), so a
scoring request never waits on a database write."""

from __future__ import annotations

import logging
import threading

from cerebro_serve.store.learning import LearningStore, ScoringCall

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0


class ScoringRecorder:
    def __init__(self, store: LearningStore) -> None:
        self.store = store
        self._pending: list[ScoringCall] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cerebro-scoring-log", daemon=True)
        self._thread.start()

    def record(self, call: ScoringCall) -> None:
        with self._lock:
            self._pending.append(call)

    def flush(self) -> None:
        with self._lock:
            calls, self._pending = self._pending, []
        try:
            self.store.add_scoring_calls(calls)
        except Exception:
            log.exception("could not record %d scoring calls; retrying", len(calls))
            with self._lock:
                self._pending[:0] = calls

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self.flush()

    def _loop(self) -> None:
        while not self._stopping.wait(FLUSH_SECONDS):
            self.flush()
