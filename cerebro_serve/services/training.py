"""Training use cases: queue a training of a trainable algorithm, read its status, progress, log and the
version it published, cancel it. The worker (services/training_worker.py) runs them one at a time, each
through the training layer's steps with the data this service reads between them."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import job_view, profile_view
from cerebro_serve.objects import JOB, PROFILE, Job, Profile
from cerebro_serve.scoring.algorithms import RatedBy
from cerebro_serve.scoring.marketplace import base_of
from cerebro_serve.services.algorithms import AlgorithmService
from cerebro_serve.services.errors import Conflict, InvalidParameters, NotFound
from cerebro_serve.services.queries import LiveLearning, TrainingCreate
from cerebro_serve.services.records import RecordService
from cerebro_serve.services.release_gate import ReleaseGate, Review
from cerebro_serve.services.timestamps import format_timestamp, optional_timestamp
from cerebro_serve.services.training_worker import TrainingWorker
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import FeedbackFilter, FeedbackRow, LearningStore, StoredTraining
from cerebro_serve.training.dataset import (
    MIN_TRAIN_PER_CLASS,
    MIN_VALIDATION_PER_CLASS,
    InsufficientData,
    Pair,
    WorkflowLog,
)
from cerebro_serve.training.encoder_finetune import Example, finetune_encoder, retrieval_mrr
from cerebro_serve.training.pipeline import (
    Described,
    Prepared,
    TrainingResult,
    fit_version,
    labelled_pairs,
    prepare,
    record_ids,
)
from cerebro_serve.training.trainer import Cancelled

FINISHED = ("succeeded", "held_for_review", "failed", "cancelled")


class TrainingService:
    def __init__(
        self, store: LearningStore, algorithms: AlgorithmService, records: RecordService, gate: ReleaseGate
    ) -> None:
        self.store = store
        self.algorithms = algorithms
        self.records = records
        self.worker = TrainingWorker(store, self._run, idle=self.check_live_learning, gate=gate.review)

    def start(self, request: TrainingCreate, trigger: str = "api") -> dict[str, Any]:
        algorithm = self.algorithms.stored(request.algorithm_key)
        base = base_of(algorithm.base)
        if base is None or not base.trainable:
            raise InvalidParameters(
                f"algorithm {algorithm.key} forks {algorithm.base}, which is not trainable: "
                "fork cerebro-trainable to learn from feedback"
            )
        if request.mode == "tracking" and not algorithm.goals:
            raise InvalidParameters("training on trackings needs the algorithm's conversion `goals`")
        for name in ("created_at_min", "created_at_max"):
            optional_timestamp(getattr(request, name), name)  # refused now rather than when it runs
        created = now_us()
        training = StoredTraining(
            key=secrets.token_hex(20),
            algorithm_key=algorithm.key,
            status="queued",
            request=msgspec.json.encode(request).decode(),
            progress=0.0,
            log=None,
            version=None,
            error=None,
            cancel_requested=False,
            feedback_watermark=self.store.newest_feedback_id(),
            trigger=trigger,
            created_at_us=created,
            updated_at_us=created,
        )
        self.store.add_training(training)
        self.worker.notify()
        return self._view(training)

    def get(self, key: str) -> dict[str, Any]:
        return self._view(self._require(key))

    def cancel(self, key: str) -> dict[str, Any]:
        training = self._require(key)
        if training.status in FINISHED:
            raise Conflict(f"training {key} already {training.status}")
        self.worker.cancel(key)
        return self.get(key)

    def recent(self, algorithm_key: str, limit: int = 10) -> list[dict[str, Any]]:
        """An algorithm's trainings, newest first (the Studio's queue)."""
        self.algorithms.stored(algorithm_key)
        return [self._view(training) for training in self.store.recent_trainings(algorithm_key, limit)]

    def preview(self, request: TrainingCreate) -> dict[str, Any]:
        """What a training with these filters would read, before it is queued, so an admin sees too little
        data now rather than as a failed training: feedback events per role (only the labeller role's
        count) and per source, their dates, the labelled pairs per class, and the training's own refusal
        when the pairs are too few. Consent and the split by job can still leave out pairs when it runs."""
        algorithm = self.algorithms.stored(request.algorithm_key)
        every_role = self.store.feedback_rows(_feedback_filter(request, None))
        rows = [row for row in every_role if row.role == algorithm.labeller_role]
        goals = json.loads(algorithm.goals) if algorithm.goals else None
        insufficient, workflow = None, WorkflowLog()
        if request.mode == "tracking" and not goals:
            insufficient = "training on trackings needs the algorithm's conversion `goals`"
        else:
            try:
                labelled_pairs(rows, request.mode, goals, workflow)
            except InsufficientData as error:
                insufficient = str(error)
        labelled = next((step for step in workflow.steps if step["step"] == "label pairs"), {})
        pairs, positives = labelled.get("kept", 0), labelled.get("positives", 0)
        dates = sorted(row.created_at_us for row in rows)
        return {
            "algorithm_key": algorithm.key,
            "mode": request.mode,
            "labeller_role": algorithm.labeller_role,
            "events": len(rows),
            "by_role": dict(Counter(row.role for row in every_role).most_common()),
            "by_source": dict(Counter(row.source_key for row in rows).most_common()),
            "date_range": {
                "start": format_timestamp(dates[0]) if dates else None,
                "end": format_timestamp(dates[-1]) if dates else None,
            },
            "pairs": pairs,
            "positives": positives,
            "negatives": pairs - positives,
            "minimum_per_class": MIN_TRAIN_PER_CLASS + MIN_VALIDATION_PER_CLASS,
            "insufficient": insufficient,
        }

    def check_live_learning(self) -> None:
        """Queue a training for each algorithm whose live-learning rule is due (the worker asks between
        trainings): enough new feedback since the last one started, or its schedule."""
        for algorithm in self.store.live_algorithms():
            rule = msgspec.json.decode(algorithm.live_learning or "{}", type=LiveLearning)
            last = self.store.last_training(algorithm.key)
            if last is not None and last.status in ("queued", "running"):
                continue
            trigger = None
            if rule.after_events is not None:
                fresh = self.store.count_feedback_after(
                    rule.mode, algorithm.labeller_role, last.feedback_watermark if last else 0
                )
                if fresh >= rule.after_events:
                    trigger = "threshold"
            if trigger is None and rule.every_hours is not None:
                since = now_us() - (last.created_at_us if last else algorithm.created_at_us)
                if since >= rule.every_hours * 3600e6:
                    trigger = "schedule"
            if trigger is not None:
                self.start(TrainingCreate(algorithm_key=algorithm.key, mode=rule.mode), trigger)

    def finetune_encoder(
        self, algorithm_key: str, mode: str, model_dir: Path, out_dir: Path, device: str, epochs: int = 1
    ) -> dict[str, Any]:
        """The GPU-node option: a fine-tuned copy of the encoder in `out_dir`, trained on the algorithm's
        feedback through the same data workflow (consent, anonymisation, split). Serving it means
        switching the workspace's model and re-embedding every record (see training/encoder_finetune.py);
        the report says whether it separates the validation pairs better than the current encoder."""
        algorithm = self.algorithms.stored(algorithm_key)
        rows = self.store.feedback_rows(FeedbackFilter(kind=mode, role=algorithm.labeller_role))
        goals = json.loads(algorithm.goals) if algorithm.goals else None
        workflow = WorkflowLog()
        prepared = self._prepare(rows, mode, goals, workflow)
        train, validation = (
            encoder_examples(pairs, prepared.records) for pairs in (prepared.train, prepared.validation)
        )
        finetune_encoder(model_dir, train, out_dir, device=device, epochs=epochs)
        tuned = load_encoder(str(out_dir), device, "float32", "torch")
        return {
            "model_dir": str(out_dir),
            "train_examples": len(train),
            "validation_examples": len(validation),
            "validation_mrr_before": retrieval_mrr(self.records.encoder.embed_documents, validation),
            "validation_mrr_after": retrieval_mrr(tuned.embed_documents, validation),
            "workflow": workflow.steps,
        }

    # -- the worker's side -------------------------------------------------------------------------

    def _run(self, training: StoredTraining, should_stop: Callable[[float], bool]) -> TrainingResult:
        request = msgspec.json.decode(training.request, type=TrainingCreate)
        algorithm = self.algorithms.stored(training.algorithm_key)
        rows = self.store.feedback_rows(_feedback_filter(request, algorithm.labeller_role))
        base = self.algorithms.fusion(algorithm.key, algorithm.active_version)
        goals = json.loads(algorithm.goals) if algorithm.goals else None
        workflow = WorkflowLog()
        prepared = self._prepare(rows, request.mode, goals, workflow)
        if should_stop(0.05):
            raise Cancelled
        result = fit_version(base, prepared, self._describe(prepared.records), workflow, should_stop)
        rated_by = RatedBy.from_dict({"kind": request.mode, "role": algorithm.labeller_role, "goals": goals})
        return dataclasses.replace(result, algorithm=dataclasses.replace(result.algorithm, rated_by=rated_by))

    def _prepare(
        self, rows: Sequence[FeedbackRow], mode: str, goals: list[dict[str, str]] | None, workflow: WorkflowLog
    ) -> Prepared:
        pairs = labelled_pairs(rows, mode, goals, workflow)
        return prepare(pairs, self._load(record_ids(pairs)), workflow)

    def _load(self, ids: list[int]) -> dict[int, Profile | Job]:
        out: dict[int, Profile | Job] = {}
        for stored in self.records.store.records.load_records(ids):
            kind = PROFILE if stored.kind == PROFILE.name else JOB
            out[stored.id] = msgspec.json.decode(stored.body, type=kind.type)
        return out

    def _describe(self, records: dict[int, Profile | Job]) -> dict[int, Described]:
        """View vectors and features of the (anonymised) records, by record id."""
        ids = sorted(records)
        described = self.records.describe([records[i] for i in ids])
        return {i: (embedding, features) for i, (_, embedding, features) in zip(ids, described)}

    def _require(self, key: str) -> StoredTraining:
        training = self.store.get_training(key)
        if training is None:
            raise NotFound("training")
        return training

    def _view(self, training: StoredTraining) -> dict[str, Any]:
        version = self.store.version(training.algorithm_key, training.version) if training.version else None
        return {
            "training_key": training.key,
            "algorithm_key": training.algorithm_key,
            "status": training.status,
            "progress": training.progress,
            "trigger": training.trigger,
            "request": json.loads(training.request),
            "version": training.version,
            "metrics": json.loads(version.metrics) if version and version.metrics else None,
            "review": msgspec.to_builtins(Review.from_json(version.review)) if version and version.review else None,
            "log": json.loads(training.log) if training.log else None,
            "error": training.error,
            "created_at": format_timestamp(training.created_at_us),
            "updated_at": format_timestamp(training.updated_at_us),
        }


def _feedback_filter(request: TrainingCreate, role: str | None) -> FeedbackFilter:
    """The feedback a training reads: its filters, and the labeller role of its algorithm."""
    return FeedbackFilter(
        kind=request.mode,
        role=role,
        source_keys=request.source_keys,
        board_keys=request.board_keys,
        created_at_min_us=optional_timestamp(request.created_at_min, "created_at_min"),
        created_at_max_us=optional_timestamp(request.created_at_max, "created_at_max"),
    )


def encoder_examples(pairs: Sequence[Pair], records: dict[int, Profile | Job]) -> list[Example]:
    """Each positive pair with its job's full text, the profile's, and one of the job's negatives."""
    negatives: dict[int, int] = {}
    for pair in pairs:
        if pair.label == 0:
            negatives.setdefault(pair.job_id, pair.profile_id)
    out = []
    for pair in pairs:
        if pair.label == 1:
            negative = negatives.get(pair.job_id)
            out.append(
                Example(
                    job_view(records[pair.job_id]),  # type: ignore[arg-type]  # job_id names a Job
                    profile_view(records[pair.profile_id]),  # type: ignore[arg-type]  # a Profile
                    profile_view(records[negative]) if negative is not None else None,  # type: ignore[arg-type]  # a Profile
                )
            )
    return out
