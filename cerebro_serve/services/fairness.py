"""Fairness audits: profiles' protected attributes, kept apart from the profiles, and audits of an algorithm
version, queued and run like trainings.

Attributes (gender, ethnicity, age band, location) are stored in their own table and read here only:
nothing that describes, embeds, scores, trains on or explains a profile can import their store (an
import-linter contract), so they cannot reach a model input.

An audit measures a version on two sets. The audit set: every live job of the named boards ranks the
profiles of the named sources with the version, as a scoring call would score them (the same anchor and
re-ranker call; every profile is scored, not only the vector search's first candidates), giving LL144
scoring rates and exposure in each job's top-k. The validation data: when a training produced the version,
its validation pairs (the training's feedback split as the training split it), giving the positive-label
rate per group of the labels it learnt from (data fairness) and the version's scores against those labels
(equalized odds). Only profiles whose consent allows improving the model (`allows_learning`) and that have
attributes count; the report says how many were left out and why.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec
import numpy as np

from cerebro_serve.cluster.shard_ranking import ShardRequest
from cerebro_serve.index.filters import RowFilter
from cerebro_serve.objects import JOB, PROFILE, Profile
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.marketplace import base_of
from cerebro_serve.services.algorithms import AlgorithmService
from cerebro_serve.services.anchors import Anchors
from cerebro_serve.services.bias_probes import OverloadBias, StereotypeBias, overload_bias, stereotype_bias
from cerebro_serve.services.errors import Conflict, InvalidParameters, Missing, ServiceError
from cerebro_serve.services.fairness_report import render_html
from cerebro_serve.services.fairness_worker import AuditWorker
from cerebro_serve.services.feedback import ImportReport
from cerebro_serve.services.pool_reads import PoolReads
from cerebro_serve.services.queries import (
    AttributesCreate,
    AttributesLine,
    AttributesQuery,
    FairnessAuditCreate,
    ProtectedAttributes,
    TrainingCreate,
)
from cerebro_serve.services.ranking import NOT_SCORABLE
from cerebro_serve.services.records import RecordService
from cerebro_serve.services.timestamps import format_timestamp, optional_timestamp
from cerebro_serve.store import RecordFilter, SqlStore, StoredRecord
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.fairness import FairnessStore, StoredAttributes, StoredAudit
from cerebro_serve.store.learning import FeedbackFilter
from cerebro_serve.training.dataset import Pair, WorkflowLog, allows_learning, rating_pairs, split, tracking_pairs
from cerebro_serve.training.fairness import (
    ATTRIBUTES,
    FOUR_FIFTHS,
    SIGNIFICANCE,
    SMALL_SHARE,
    ExposureReport,
    FairnessReport,
    data_fairness,
    model_fairness,
    ranked_exposure,
)
from cerebro_serve.training.trainer import Cancelled

FINISHED = ("succeeded", "failed", "cancelled")
NO_ATTRIBUTES = "no protected attributes supplied"
NO_CONSENT = "consent does not allow improving the model (privacy level or learning: false)"
REFUSES = "consent refuses scoring or embedding"
NOT_INDEXED = "not in its source's index"
PROBED_JOBS = 20  # stereotype probes: jobs and profiles sampled (one encoder call a profile)
PROBED_PROFILES = 50

METHOD = {
    "scoring_rate": "share of a group's (profile, job) pairs scoring above the median score of all audited pairs",
    "positive_label_rate": "share of a group's labelled pairs that are positive (rating >= 0.5, or a positive goal)",
    "impact_ratio": "a group's rate over the highest rate among the groups that count (NYC Local Law 144)",
    "four_fifths_flag": f"impact ratio under {FOUR_FIFTHS} (EEOC four-fifths rule)",
    "p_value": "Fisher's exact test, two-sided, of the group against the reference group "
    f"(significant under {SIGNIFICANCE}); it counts each (profile, job) pair as independent, and one profile's "
    "pairs are not, so it overstates significance when many jobs rank the same profiles",
    "groups_that_count": f"known values holding at least {SMALL_SHARE:.0%} of the audited pairs; smaller groups and "
    "unknowns are reported with their rates but left out of the lowest impact ratio, with the reason",
    "intersection": "gender×ethnicity: known when both are",
    "demographic_parity_difference": "largest gap in the rate between groups that count (fairlearn)",
    "equalized_odds_difference": "largest gap in true or false positive rate of the above-median decision "
    "against the labels, between groups that count (fairlearn)",
    "exposure": "per job, each group's share of the top-k slots and of the attention 1/log2(1 + rank) over "
    "them, against its share of the ranked profiles; averaged over the jobs",
    "scores": "each profile's score for the job as a scoring call gives it (the version's fusion over the "
    "re-ranker's features); protected attributes are never an input",
}


class DateRange(msgspec.Struct, kw_only=True):
    start: str | None
    end: str | None


class Coverage(msgspec.Struct, kw_only=True):
    """What a part of the audit measured, what it left out (by reason) and the dates of its data."""

    profiles: int
    pairs: int
    left_out: dict[str, int]
    date_range: DateRange


class AuditSet(msgspec.Struct, kw_only=True, omit_defaults=True):
    source_keys: list[str]
    board_keys: list[str]
    jobs: int
    top_k: int
    coverage: Coverage
    model: FairnessReport | None = None
    exposure: list[ExposureReport] = msgspec.field(default_factory=list)


class Validation(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The version's validation data; `skipped` says why there is none (a base or fork never trained)."""

    training_key: str | None = None
    skipped: str | None = None
    coverage: Coverage | None = None
    data: FairnessReport | None = None  # labels of every pair the training could use
    model: FairnessReport | None = None  # the version's scores on the validation pairs, with their labels


class BiasProbes(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Counterfactual and exposure-concentration probes on the audit set (services/bias_probes.py); a
    probe that could not run says why."""

    stereotype: StereotypeBias | None = None
    overload: OverloadBias | None = None
    skipped: list[str] = msgspec.field(default_factory=list)


class AuditReport(msgspec.Struct, kw_only=True, omit_defaults=True):
    algorithm_key: str
    version: int
    generated_at: str
    method: dict[str, str]
    audit_set: AuditSet
    validation: Validation
    bias_probes: BiasProbes | None = None


class FairnessService:
    def __init__(
        self, store: SqlStore, records: RecordService, reads: PoolReads, algorithms: AlgorithmService, anchors: Anchors
    ) -> None:
        self.attributes = FairnessStore(store.engine)
        self.learning = store.learning
        self.records = records
        self.reads = reads
        self.algorithms = algorithms
        self.anchors = anchors
        self.worker = AuditWorker(self.attributes, self._run)

    # -- protected attributes ----------------------------------------------------------------------

    def set_attributes(self, request: AttributesCreate) -> dict[str, int]:
        """All or nothing: one unknown profile refuses the request (404, naming it)."""
        self.records.pools.require(PROFILE, request.source_key)
        rows = []
        for number, given in enumerate(request.attributes):
            try:
                rows.append(self._attributes_row(request.source_key, given))
            except (InvalidParameters, Missing) as error:
                raise type(error)(f"attributes[{number}]: {error.detail}") from None
        self.attributes.upsert_attributes(rows)
        return {"stored": len(rows)}

    def import_lines(self, lines: Iterable[bytes | str]) -> ImportReport:
        """JSON Lines, one `{source_key, profile_key|profile_reference, gender, ...}` a line; a line that
        cannot be stored is reported with its reason, the others are."""
        report, rows = ImportReport(), []
        lines = list(lines)
        if not any(line.strip() for line in lines):
            raise InvalidParameters("the body has no lines: send JSON Lines, one profile's attributes per line")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                given = msgspec.json.decode(line, type=AttributesLine)
                rows.append(self._attributes_row(given.source_key, given))
            except (msgspec.ValidationError, msgspec.DecodeError) as error:
                report.rejected.append((number, InvalidParameters.from_validation(error).detail))
            except ServiceError as error:
                report.rejected.append((number, error.detail))
        self.attributes.upsert_attributes(rows)
        report.stored = len(rows)
        return report

    def get_attributes(self, query: AttributesQuery) -> dict[str, Any]:
        profile = self._profile(query.source_key, query.profile_key, query.profile_reference)
        stored = self.attributes.attributes_of([profile.id]).get(profile.id)
        if stored is None:
            raise Missing(f"profile {profile.key} has no protected attributes")
        return {
            "source_key": stored.source_key,
            "profile_key": profile.key,
            "profile_reference": profile.reference,
            **{name: getattr(stored, name) for name in ATTRIBUTES},
            "updated_at": format_timestamp(stored.updated_at_us),
        }

    def attributes_of(self, record_ids: Sequence[int]) -> dict[str, list[str | None]]:
        """Each attribute's values for these profiles, in their order (None: unknown or not supplied)."""
        stored = self.attributes.attributes_of(record_ids)
        return {name: [getattr(stored[i], name) if i in stored else None for i in record_ids] for name in ATTRIBUTES}

    # -- audits ------------------------------------------------------------------------------------

    def start(self, request: FairnessAuditCreate) -> dict[str, Any]:
        version = self._version(request.algorithm_key, request.version)
        for source_key in request.source_keys:
            self.records.pools.require(PROFILE, source_key)
        for board_key in request.board_keys:
            self.records.pools.require(JOB, board_key)
        created = now_us()
        audit = StoredAudit(
            key=secrets.token_hex(20),
            algorithm_key=request.algorithm_key,
            version=version,
            status="queued",
            request=msgspec.json.encode(request).decode(),
            progress=0.0,
            report=None,
            error=None,
            cancel_requested=False,
            created_at_us=created,
            updated_at_us=created,
        )
        self.attributes.add_audit(audit)
        self.worker.notify()
        return self._view(audit)

    def get(self, key: str) -> dict[str, Any]:
        return self._view(self._require(key))

    def html(self, key: str) -> str:
        audit = self._require(key)
        if audit.status != "succeeded" or audit.report is None:
            raise Conflict(f"fairness audit {key} is {audit.status}: its report exists once it has succeeded")
        return render_html(json.loads(audit.report))

    def cancel(self, key: str) -> dict[str, Any]:
        audit = self._require(key)
        if audit.status in FINISHED:
            raise Conflict(f"fairness audit {key} already {audit.status}")
        self.worker.cancel(key)
        return self.get(key)

    # -- the worker's side -------------------------------------------------------------------------

    def _run(self, audit: StoredAudit, should_stop: Callable[[float], bool]) -> str:
        request = msgspec.json.decode(audit.request, type=FairnessAuditCreate)
        version = audit.version or 1
        fusion = self._fusion(audit.algorithm_key, version)
        audit_set = self._audit_set(request, fusion, lambda done: should_stop(0.05 + 0.45 * done))
        validation = self._validation(audit.algorithm_key, version, fusion)
        if should_stop(0.55):
            raise Cancelled
        report = AuditReport(
            algorithm_key=audit.algorithm_key,
            version=version,
            generated_at=format_timestamp(now_us()) or "",
            method=METHOD,
            audit_set=audit_set,
            validation=validation,
        )
        if request.bias_probes:
            report.bias_probes = self._probes(request, fusion, lambda done: should_stop(0.55 + 0.4 * done))
        return msgspec.json.encode(report).decode()

    def _probes(self, request: FairnessAuditCreate, fusion: Algorithm, progress: Callable[[float], bool]) -> BiasProbes:
        def step(start: float, share: float) -> Callable[[float], None]:
            def told(done: float) -> None:
                if progress(start + share * done):
                    raise Cancelled

            return told

        probes = BiasProbes()
        pools = (self.records, self.reads, fusion, request.board_keys, request.source_keys)
        try:
            probes.stereotype = stereotype_bias(
                *pools,
                max_jobs=PROBED_JOBS,
                max_profiles=PROBED_PROFILES,
                top_k=request.top_k,
                progress=step(0.0, 0.8),
            )
        except InvalidParameters as error:
            probes.skipped.append(f"stereotype: {error.detail}")
        try:
            probes.overload = overload_bias(*pools, top_k=request.top_k, progress=step(0.8, 0.2))
        except InvalidParameters as error:
            probes.skipped.append(f"overload: {error.detail}")
        return probes

    def _audit_set(
        self, request: FairnessAuditCreate, fusion: Algorithm, progress: Callable[[float], bool]
    ) -> AuditSet:
        with_attributes = self.attributes.profiles_with_attributes(request.source_keys)
        profiles, no_consent = self._audited_profiles(with_attributes)
        live = len(self.records.store.records.filter_records(PROFILE.name, request.source_keys, RecordFilter()))
        left_out = {NO_ATTRIBUTES: live - len(with_attributes), NO_CONSENT: no_consent}
        jobs = self.records.store.records.filter_records(JOB.name, request.board_keys, RecordFilter())
        rankings: dict[str, list[int]] = {}
        scores: list[float] = []
        for number, job in enumerate(self.records.store.records.load_records(jobs.ids.tolist())):
            if progress(number / max(1, len(jobs))):
                raise Cancelled
            job_scores = self._scores(job, fusion, profiles)
            rankings[job.key] = sorted(job_scores, key=lambda i: (-job_scores[i], i))
            scores += [job_scores[i] for i in rankings[job.key]]
        members = sorted({i for order in rankings.values() for i in order})
        if rankings:  # with no job to rank for, no profile was left out by scoring
            for record_id in set(profiles) - set(members):
                reason = self._why_unscored(profiles[record_id])
                left_out[reason] = left_out.get(reason, 0) + 1
        coverage = Coverage(
            profiles=len(members),
            pairs=len(scores),
            left_out={reason: count for reason, count in left_out.items() if count},
            date_range=_date_range([profiles[i].created_at_us for i in members]),
        )
        audit_set = AuditSet(
            source_keys=request.source_keys,
            board_keys=request.board_keys,
            jobs=len(jobs),
            top_k=request.top_k,
            coverage=coverage,
        )
        if scores:
            position = {record_id: n for n, record_id in enumerate(members)}
            columns = self.attributes_of(members)
            pairs = [position[i] for order in rankings.values() for i in order]
            audit_set.model = model_fairness(
                np.array(scores), {name: [values[n] for n in pairs] for name, values in columns.items()}
            )
            audit_set.exposure = ranked_exposure(
                {key: [position[i] for i in order] for key, order in rankings.items()}, columns, request.top_k
            )
        return audit_set

    def _validation(self, algorithm_key: str, version: int, fusion: Algorithm) -> Validation:
        stored = self.learning.version(algorithm_key, version) if base_of(algorithm_key) is None else None
        training = self.learning.get_training(stored.training_key) if stored and stored.training_key else None
        if training is None:
            return Validation(skipped="no training produced this version: it has no validation data")
        request = msgspec.json.decode(training.request, type=TrainingCreate)
        algorithm = self.algorithms.stored(algorithm_key)
        rows = self.learning.feedback_rows(
            FeedbackFilter(
                kind=request.mode,
                role=algorithm.labeller_role,
                source_keys=request.source_keys,
                board_keys=request.board_keys,
                created_at_min_us=optional_timestamp(request.created_at_min, "created_at_min"),
                created_at_max_us=optional_timestamp(request.created_at_max, "created_at_max"),
            )
        )
        workflow = WorkflowLog()
        goals = json.loads(algorithm.goals) if algorithm.goals else []
        pairs = rating_pairs(rows) if request.mode == "rating" else tracking_pairs(rows, goals, workflow)
        records = {r.id: r for r in self.records.store.records.load_records(sorted({p.profile_id for p in pairs}))}
        consenting = [
            p for p in pairs if p.profile_id in records and allows_learning(_profile_of(records[p.profile_id]))
        ]
        _, held = split(consenting, workflow)  # the training's own split: same pairs, same seed
        with_attributes = set(self.attributes.attributes_of(sorted({p.profile_id for p in consenting})))
        labelled = [p for p in consenting if p.profile_id in with_attributes]
        validation = Validation(training_key=training.key)
        if labelled:
            labels = np.array([p.label for p in labelled])
            validation.data = data_fairness(labels, self.attributes_of([p.profile_id for p in labelled]))
        scored, unscored = self._pair_scores([p for p in held if p.profile_id in with_attributes], fusion, records)
        if scored:
            validation.model = model_fairness(
                np.array([score for _, score in scored]),
                self.attributes_of([p.profile_id for p, _ in scored]),
                labels=np.array([p.label for p, _ in scored]),
            )
        left_out = {
            NO_CONSENT: len({p.profile_id for p in pairs} - {p.profile_id for p in consenting}),
            NO_ATTRIBUTES: len({p.profile_id for p in consenting} - with_attributes),
            REFUSES: unscored,
        }
        validation.coverage = Coverage(
            profiles=len({p.profile_id for p in labelled}),
            pairs=len(labelled),
            left_out={reason: count for reason, count in left_out.items() if count},
            date_range=_date_range([row.created_at_us for row in rows]),
        )
        return validation

    # -- scores ------------------------------------------------------------------------------------

    def _scores(self, job: StoredRecord, fusion: Algorithm, profiles: dict[int, StoredRecord]) -> dict[int, float]:
        """The job's score for each of these profiles that can be scored, as `profiles/scoring` gives it."""
        anchor = self.anchors.of(JOB, job, fusion)
        assert anchor.query is not None
        by_pool: dict[str, list[int]] = {}
        for record_id, record in profiles.items():
            by_pool.setdefault(record.pool_key, []).append(record_id)
        request = ShardRequest(anchor.vector, RowFilter(refused=NOT_SCORABLE), None, anchor.query, fusion)
        out: dict[int, float] = {}
        for pool_key, record_ids in by_pool.items():
            scored = self.reads.scored(pool_key, request, np.array(record_ids, dtype=np.int64))
            out.update(zip(scored.record_ids.tolist(), scored.scores.tolist()))
        return out

    def _pair_scores(
        self, pairs: Sequence[Pair], fusion: Algorithm, profiles: dict[int, StoredRecord]
    ) -> tuple[list[tuple[Pair, float]], int]:
        """The version's scores of labelled pairs (by job), and how many profiles could not be scored."""
        by_job: dict[int, list[Pair]] = {}
        for pair in pairs:
            by_job.setdefault(pair.job_id, []).append(pair)
        scored = []
        for job in self.records.store.records.load_records(sorted(by_job)):
            scores = self._scores(job, fusion, {p.profile_id: profiles[p.profile_id] for p in by_job[job.id]})
            scored += [(p, scores[p.profile_id]) for p in by_job[job.id] if p.profile_id in scores]
        unscored = {p.profile_id for p in pairs} - {p.profile_id for p, _ in scored}
        return scored, len(unscored)

    def _audited_profiles(self, record_ids: list[int]) -> tuple[dict[int, StoredRecord], int]:
        """The profiles with attributes whose consent allows the audit, and how many were refused."""
        kept = {}
        for record in self.records.store.records.load_records(record_ids):
            if allows_learning(_profile_of(record)):
                kept[record.id] = record
        return kept, len(record_ids) - len(kept)

    def _why_unscored(self, record: StoredRecord) -> str:
        held = self.reads.allowed_ids(record.pool_key, RowFilter(record_ids=np.array([record.id], dtype=np.int64)))
        return NOT_INDEXED if not len(held) else REFUSES

    # -- lookups -----------------------------------------------------------------------------------

    def _attributes_row(self, source_key: str, given: ProtectedAttributes) -> StoredAttributes:
        profile = self._profile(source_key, given.profile_key, given.profile_reference)
        values = {name: _cleaned(getattr(given, name)) for name in ATTRIBUTES}
        return StoredAttributes(record_id=profile.id, source_key=source_key, updated_at_us=now_us(), **values)

    def _profile(self, source_key: str, key: str | None, reference: str | None) -> StoredRecord:
        if key is None and reference is None:
            raise InvalidParameters("give `profile_key` or `profile_reference`")
        self.records.pools.require(PROFILE, source_key)
        stored = self.records.store.records.find_record(PROFILE.name, source_key, key=key, reference=reference)
        if stored is None:
            raise Missing(f"no profile {key or reference!r} in source {source_key}")
        return stored

    def _version(self, algorithm_key: str, version: int | None) -> int:
        """The version audited: a marketplace base has one; a fork's active one unless named."""
        if base_of(algorithm_key) is not None:
            if version not in (None, 1):
                raise InvalidParameters(f"{algorithm_key} has one version, 1")
            return 1
        algorithm = self.algorithms.stored(algorithm_key)
        if version is not None and self.learning.version(algorithm_key, version) is None:
            raise InvalidParameters(f"algorithm {algorithm_key} has no version {version}")
        return version or algorithm.active_version

    def _fusion(self, algorithm_key: str, version: int) -> Algorithm:
        base = base_of(algorithm_key)
        if base is not None:
            return base.fusion(self.algorithms.model)
        return self.algorithms.fusion(algorithm_key, version)

    def _require(self, key: str) -> StoredAudit:
        audit = self.attributes.get_audit(key)
        if audit is None:
            raise Missing(f"no fairness audit {key}")
        return audit

    def _view(self, audit: StoredAudit) -> dict[str, Any]:
        return {
            "audit_key": audit.key,
            "algorithm_key": audit.algorithm_key,
            "version": audit.version,
            "status": audit.status,
            "progress": audit.progress,
            "request": json.loads(audit.request),
            "report": json.loads(audit.report) if audit.report else None,
            "error": audit.error,
            "created_at": format_timestamp(audit.created_at_us),
            "updated_at": format_timestamp(audit.updated_at_us),
        }


def _profile_of(record: StoredRecord) -> Profile:
    return msgspec.json.decode(record.body, type=Profile)


def _cleaned(value: str | None) -> str | None:
    """Surrounding spaces dropped; an empty value is unknown."""
    return (value.strip() or None) if value is not None else None


def _date_range(times_us: Sequence[int]) -> DateRange:
    if not times_us:
        return DateRange(start=None, end=None)
    return DateRange(start=format_timestamp(min(times_us)), end=format_timestamp(max(times_us)))
