"""A worker for jobs queued in the store (trainings, fairness audits): one thread takes them one at a time.

The store is the queue, so jobs queued by another process are seen within `POLL_SECONDS`, and a job a stop
left running is queued again at the next start (a job writes its result in one step at its very end).
Subclasses say what running one job means and what its outcome leaves in the store.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cerebro_serve.store.connection import now_us

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0

ShouldStop = Callable[[float], bool]  # told the progress (0..1); says whether to stop


class QueuedJob(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def cancel_requested(self) -> bool: ...


J = TypeVar("J", bound=QueuedJob)


@dataclass(frozen=True, slots=True)
class JobTable(Generic[J]):
    """The store's side of one kind of job."""

    requeue_running: Callable[[int], int]  # (now) -> how many running jobs went back to the queue
    next_queued: Callable[[], J | None]
    update: Callable[..., bool]  # (key, expected_status, **values) -> whether it changed
    get: Callable[[str], J | None]


class QueueWorker(ABC, Generic[J]):
    def __init__(self, name: str, table: JobTable[J], idle: Callable[[], None] | None = None) -> None:
        """`idle`: called between jobs (live learning queues trainings that are due from there)."""
        self.name = name
        self.table = table
        self.idle = idle
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_one(self, job: J, should_stop: ShouldStop) -> None:
        """Run a claimed (running) job and record its outcome."""

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        requeued = self.table.requeue_running(now_us())
        if requeued:
            log.warning("%s: %d job(s) interrupted by a stop were queued again", self.name, requeued)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """A running job is interrupted and queued again for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def cancel(self, key: str) -> None:
        """A queued job is cancelled at once; a running one stops at its next step, keeping nothing."""
        if not self.table.update(key, "queued", status="cancelled", updated_at_us=now_us()):
            self.table.update(key, "running", cancel_requested=True, updated_at_us=now_us())

    def run_pending(self) -> None:
        """Every queued job, one after another (what the thread does; callable directly)."""
        while not self._stopping.is_set():
            job = self.table.next_queued()
            if job is None:
                return
            if self.table.update(job.key, "queued", status="running", updated_at_us=now_us()):
                self.run_one(job, self._should_stop(job.key))

    def _should_stop(self, key: str) -> ShouldStop:
        def should_stop(progress: float) -> bool:
            self.table.update(key, "running", progress=round(progress, 3), updated_at_us=now_us())
            current = self.table.get(key)
            return self._stopping.is_set() or current is None or current.cancel_requested

        return should_stop

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.idle is not None:
                    self.idle()
                self.run_pending()
            except Exception:
                log.exception("%s: store error, retrying in %.0f s", self.name, POLL_SECONDS)
                self._stopping.wait(POLL_SECONDS)
                continue
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
