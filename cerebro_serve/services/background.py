"""Writing off the request path: items queued in memory, written in batches by a thread of their own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class BatchWriter(Generic[T]):
    """`add` is a list append; every `interval` seconds a thread hands the queue to `write` (then runs
    `tick`, if given); `close` writes what is left, so a clean stop loses nothing. A batch whose write
    fails is kept, in order, for the next one. One write at a time, so batches land in the order queued."""

    def __init__(
        self, name: str, interval: float, write: Callable[[list[T]], None], tick: Callable[[], None] | None = None
    ) -> None:
        self._write = write
        self._tick = tick
        self._interval = interval
        self._pending: list[T] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def add(self, item: T) -> None:
        with self._lock:
            self._pending.append(item)

    def flush(self) -> None:
        with self._writing:
            with self._lock:
                items, self._pending = self._pending, []
            if not items:
                return
            try:
                self._write(items)
            except Exception:
                log.exception("%s: could not write %d items; retrying", self._thread.name, len(items))
                with self._lock:
                    self._pending[:0] = items

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self.flush()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            self.flush()
            if self._tick is not None:
                try:
                    self._tick()
                except Exception:
                    log.exception("%s: periodic work failed; trying again next time", self._thread.name)
