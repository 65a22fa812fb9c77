"""The audit worker: takes queued fairness audits from the store one at a time on a thread of the server,
runs them, stores the report (or the failure). The store is the queue, as for trainings: an audit left
running by a stop is queued again at the next start (it writes nothing before it ends)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cerebro_serve.services.job_queue import JobTable, QueueWorker, ShouldStop
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.fairness import FairnessStore, StoredAudit
from cerebro_serve.training.trainer import Cancelled

log = logging.getLogger(__name__)

# Runs one audit: (the audit, should_stop(progress) -> bool) -> its report as JSON.
Runner = Callable[[StoredAudit, ShouldStop], str]


class AuditWorker(QueueWorker[StoredAudit]):
    def __init__(self, store: FairnessStore, runner: Runner) -> None:
        table = JobTable(store.requeue_running_audits, store.next_queued_audit, store.update_audit, store.get_audit)
        super().__init__("cerebro-fairness-audit", table)
        self.store = store
        self.runner = runner

    def run_one(self, audit: StoredAudit, should_stop: ShouldStop) -> None:
        try:
            report = self.runner(audit, should_stop)
        except Cancelled:
            status = "queued" if self.stopping else "cancelled"
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
