"""The audit worker: takes queued fairness audits from the store one at a time on a thread of the server,
runs them, stores the report (or the failure). The store is the queue, as for trainings: an audit left
running by a stop is queued again at the next start (it writes nothing before it ends)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cerebro_serve.store.connection import now_us
from cerebro_serve.store.fairness import FairnessStore, StoredAudit
from cerebro_serve.training.trainer import Cancelled

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0  # audits queued by another process are seen within this

# Runs one audit: (the audit, should_stop(progress) -> bool) -> its report as JSON.
Runner = Callable[[StoredAudit, Callable[[float], bool]], str]


class AuditWorker:
    def __init__(self, store: FairnessStore, runner: Runner) -> None:
        self.store = store
        self.runner = runner
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        requeued = self.store.requeue_running_audits(now_us())
        if requeued:
            log.warning("%d fairness audit(s) interrupted by a stop were queued again", requeued)
        self._thread = threading.Thread(target=self._loop, name="cerebro-fairness-audit", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """A running audit is interrupted and queued again for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run_pending(self) -> None:
        """Every queued audit, one after another (what the thread does; callable directly)."""
        while not self._stopping.is_set():
            audit = self.store.next_queued_audit()
            if audit is None:
                return
            if self.store.update_audit(audit.key, "queued", status="running", updated_at_us=now_us()):
                self._run(audit)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_pending()
            except Exception:
                log.exception("audit worker: store error, retrying in %.0f s", POLL_SECONDS)
                self._stopping.wait(POLL_SECONDS)
                continue
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _run(self, audit: StoredAudit) -> None:
        def should_stop(progress: float) -> bool:
            self.store.update_audit(audit.key, "running", progress=round(progress, 3), updated_at_us=now_us())
            current = self.store.get_audit(audit.key)
            return self._stopping.is_set() or current is None or current.cancel_requested

        try:
            report = self.runner(audit, should_stop)
        except Cancelled:
            status = "queued" if self._stopping.is_set() else "cancelled"
            self.store.update_audit(audit.key, "running", status=status, progress=0.0, updated_at_us=now_us())
            return
        except Exception as error:
            log.exception("fairness audit %s failed", audit.key)
            self.store.update_audit(
                audit.key, "running", status="failed", error=f"{type(error).__name__}: {error}", updated_at_us=now_us()
            )
            return
        if not self.store.finish_audit(audit.key, report, now_us()):  # cancelled at the last moment
            self.store.update_audit(audit.key, "running", status="cancelled", progress=0.0, updated_at_us=now_us())
