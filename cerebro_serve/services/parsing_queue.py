"""Resumes accepted with `sync_parsing=0` are parsed here, one at a time, in a background thread.

The file waits in the store (`parsing_jobs`), so an accepted file survives a crash: on start the queue
picks up whatever was left queued. A worker claims a job before parsing it (one UPDATE, so several server
processes on one PostgreSQL never parse the same file twice); a claim older than the lease is taken
again. A file that fails is marked failed with the reason, and polling `profile/parsing` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cerebro_serve.services.errors import ServiceError
from cerebro_serve.store import SqlStore

log = logging.getLogger(__name__)


class ParsingQueue:
    def __init__(self, store: SqlStore, handle: Callable[[bytes], object]) -> None:
        """`handle`: parses one queued request (the bytes stored with it); a ServiceError it raises is
        the reason the job failed."""
        self.store = store
        self.handle = handle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Make sure the worker runs and looks at the queue now."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="parsing-queue", daemon=True)
                self._thread.start()
        self._wake.set()

    def resume(self) -> None:
        """Start the worker if files were left queued by an earlier run."""
        if self.store.parsing_jobs.queued_parsing(1):
            self.wake()

    def counts(self) -> dict[str, int]:
        """Files by state (queued, running, succeeded, failed), every state present: the Studio shows them."""
        counts = self.store.job_counts.by_status().get("parsing_jobs", {})
        return {state: counts.get(state, 0) for state in ("queued", "running", "succeeded", "failed")} | counts

    def drain(self) -> int:
        """Parse every queued file now, in this thread; returns how many were handled."""
        handled = 0
        while not self._stop.is_set():
            jobs = self.store.parsing_jobs.queued_parsing(8)
            if not jobs:
                return handled
            for job in jobs:
                if not self.store.parsing_jobs.claim_parsing(job.key):
                    continue  # another worker took it
                error = None
                try:
                    self.handle(job.request or b"")
                except ServiceError as failure:
                    error = failure.message
                except Exception:
                    log.exception("parsing job %s failed", job.key)
                    error = "Internal error while parsing; the server log has the details."
                self.store.parsing_jobs.finish_parsing(job.key, error)
                handled += 1
        return handled

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.drain()
            except Exception:
                log.exception("parsing queue stopped on a store error")
            self._wake.wait(timeout=30)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
