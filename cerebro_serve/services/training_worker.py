"""The training worker (orchestration, so it lives with the services): takes queued trainings from the
store one at a time, runs them, publishes the version (or the failure). It runs on a thread of the
server by default, or as `cerebro-serve worker` beside it; either way the store is the queue, so a
restart loses nothing (a training left running is queued again, and nothing it did was published)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from cerebro_serve.services.job_queue import JobTable, QueueWorker, ShouldStop
from cerebro_serve.services.release_gate import Review
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import LearningStore, StoredTraining
from cerebro_serve.training.dataset import InsufficientData
from cerebro_serve.training.pipeline import TrainingResult, Validated
from cerebro_serve.training.trainer import Cancelled

log = logging.getLogger(__name__)

# Runs one training: (the training, should_stop(progress) -> bool) -> its result.
Runner = Callable[[StoredTraining, ShouldStop], TrainingResult]
# Audits a trained version before it is published (services/release_gate.py).
Gate = Callable[[Validated], Review]


class TrainingWorker(QueueWorker[StoredTraining]):
    def __init__(
        self, store: LearningStore, runner: Runner, idle: Callable[[], None] | None = None, gate: Gate | None = None
    ) -> None:
        """`idle`: called between trainings (live learning queues trainings that are due from there).
        `gate`: reviews each trained version; one it holds is published without serving."""
        table = JobTable(
            store.requeue_running_trainings, store.next_queued_training, store.update_training, store.get_training
        )
        super().__init__("cerebro-training", table, idle)
        self.store = store
        self.runner = runner
        self.gate = gate

    def run_one(self, training: StoredTraining, should_stop: ShouldStop) -> None:
        try:
            result = self.runner(training, should_stop)
        except Cancelled:
            if self.stopping:
                self.store.update_training(
                    training.key, "running", status="queued", progress=0.0, updated_at_us=now_us()
                )
            else:
                self.store.update_training(training.key, "running", status="cancelled", updated_at_us=now_us())
            return
        except InsufficientData as error:
            self._fail(training, str(error), json.dumps(error.steps))
            return
        except Exception as error:
            log.exception("training %s failed", training.key)
            self._fail(training, f"{type(error).__name__}: {error}")
            return
        try:
            review = self.gate(result.validated) if self.gate is not None else None
        except Exception as error:
            log.exception("training %s: the release gate failed", training.key)
            self._fail(training, f"release gate: {type(error).__name__}: {error}")
            return
        version = self.store.publish_version(
            training.key,
            training.algorithm_key,
            now_us(),
            result.algorithm.to_json(),
            json.dumps(result.metrics),
            json.dumps(result.log.steps),
            review=review.to_json() if review is not None else None,
            held=review is not None and review.held,
        )
        if version is None:  # cancelled in the last moment: nothing was published
            self.store.update_training(training.key, "running", status="cancelled", updated_at_us=now_us())
        elif review is not None and review.held:
            log.warning(
                "training %s: version %d of %s held for review: %s",
                training.key,
                version,
                training.algorithm_key,
                "; ".join(review.reasons),
            )
        else:
            log.info("training %s published version %d of %s", training.key, version, training.algorithm_key)

    def _fail(self, training: StoredTraining, message: str, steps: str | None = None) -> None:
        self.store.update_training(
            training.key, "running", status="failed", error=message, log=steps, updated_at_us=now_us()
        )
