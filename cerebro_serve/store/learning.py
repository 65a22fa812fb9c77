"""What the learning loop keeps: customers' algorithms with their versions, and their feedback.

Like every store write, each method commits before it returns (SQLite in WAL with synchronous=FULL), so
an acknowledged rating survives a crash, and a new version and its activation land in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from cerebro_serve.store.schema import algorithm_versions, algorithms, feedback, records, scoring_calls, trainings


@dataclass(frozen=True, slots=True)
class StoredAlgorithm:
    key: str
    base: str
    name: str
    labeller_role: str
    description: str | None
    goals: str | None  # JSON
    active_version: int
    is_default: bool
    live_learning: str | None  # JSON
    created_at_us: int


@dataclass(frozen=True, slots=True)
class StoredVersion:
    version: int
    created_at_us: int
    model: str  # JSON
    metrics: str | None  # JSON
    training_key: str | None
    review: str | None = None  # JSON: the release gate's verdict (services/release_gate.py)


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One rating or tracking as stored; profile and job by their record ids."""

    key: str
    kind: str
    role: str
    score: float | None
    action: str | None
    source_key: str
    profile_id: int
    board_key: str
    job_id: int
    author_email: str | None
    comment: str | None
    created_at_us: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    row: FeedbackRow
    profile_key: str
    profile_reference: str | None
    job_key: str
    job_reference: str | None


@dataclass(frozen=True, slots=True)
class FeedbackFilter:
    kind: str
    role: str | None = None
    source_keys: Sequence[str] | None = None
    board_keys: Sequence[str] | None = None
    profile_id: int | None = None
    job_id: int | None = None
    actions: Sequence[str] | None = None
    created_at_min_us: int | None = None
    created_at_max_us: int | None = None


@dataclass(frozen=True, slots=True)
class ScoringCall:
    algorithm_key: str
    version: int
    endpoint: str
    anchor_key: str
    returned: int
    created_at_us: int


@dataclass(frozen=True, slots=True)
class StoredTraining:
    key: str
    algorithm_key: str
    status: str
    request: str  # JSON
    progress: float
    log: str | None  # JSON
    version: int | None
    error: str | None
    cancel_requested: bool
    feedback_watermark: int
    trigger: str
    created_at_us: int
    updated_at_us: int


class LearningStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- algorithms --------------------------------------------------------------------------------

    def create_algorithm(self, algorithm: StoredAlgorithm, model: str) -> None:
        """The algorithm and its version 1 (the base's fusion), in one transaction."""
        with self.engine.begin() as connection:
            connection.execute(algorithms.insert().values(**_fields(algorithm)))
            connection.execute(
                algorithm_versions.insert().values(
                    algorithm_key=algorithm.key, version=1, created_at_us=algorithm.created_at_us, model=model
                )
            )

    def get_algorithm(self, key: str) -> StoredAlgorithm | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(algorithms).where(algorithms.c.key == key)).first()
        return StoredAlgorithm(**row._mapping) if row else None

    def list_algorithms(self, offset: int, limit: int) -> tuple[list[StoredAlgorithm], int]:
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(algorithms)).scalar_one()
            rows = connection.execute(
                sa.select(algorithms)
                .order_by(algorithms.c.created_at_us.desc(), algorithms.c.key)
                .offset(offset)
                .limit(limit)
            ).all()
        return [StoredAlgorithm(**row._mapping) for row in rows], total

    def versions(self, key: str) -> list[StoredVersion]:
        query = (
            sa.select(algorithm_versions)
            .where(algorithm_versions.c.algorithm_key == key)
            .order_by(algorithm_versions.c.version)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_version(row) for row in rows]

    def version(self, key: str, version: int) -> StoredVersion | None:
        query = sa.select(algorithm_versions).where(
            algorithm_versions.c.algorithm_key == key, algorithm_versions.c.version == version
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return _version(row) if row else None

    def activate(self, key: str, version: int) -> bool:
        """Serve an existing version (a rollback, or forward again); False when there is no such version."""
        with self.engine.begin() as connection:
            exists = connection.execute(
                sa.select(algorithm_versions.c.version).where(
                    algorithm_versions.c.algorithm_key == key, algorithm_versions.c.version == version
                )
            ).first()
            if exists is None:
                return False
            connection.execute(algorithms.update().where(algorithms.c.key == key).values(active_version=version))
        return True

    def set_default(self, key: str | None) -> None:
        """The workspace's default algorithm (None: the built-in base)."""
        with self.engine.begin() as connection:
            connection.execute(algorithms.update().where(algorithms.c.is_default).values(is_default=False))
            if key is not None:
                connection.execute(algorithms.update().where(algorithms.c.key == key).values(is_default=True))

    def default_algorithm(self) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(algorithms.c.key).where(algorithms.c.is_default)).scalar()

    # -- feedback ----------------------------------------------------------------------------------

    def add_feedback(self, rows: Sequence[FeedbackRow]) -> list[str]:
        """Insert what is new; an event already stored (same fingerprint) is skipped. Returns the keys of
        the stored events in input order: the new ones' own, or the earlier copy's."""
        if not rows:
            return []
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(feedback)
        with self.engine.begin() as connection:
            connection.execute(
                insert.on_conflict_do_nothing(index_elements=["fingerprint"]), [_fields(row) for row in rows]
            )
            stored = dict(
                connection.execute(
                    sa.select(feedback.c.fingerprint, feedback.c.key).where(
                        feedback.c.fingerprint.in_([row.fingerprint for row in rows])
                    )
                ).all()
            )
        return [stored[row.fingerprint] for row in rows]

    def list_feedback(
        self, where: FeedbackFilter, offset: int, limit: int | None, sort_by: str, descending: bool
    ) -> tuple[list[StoredFeedback], int]:
        """A page of events (`limit` None: all from `offset`), with the profile's and job's keys."""
        profile, job = records.alias("profile"), records.alias("job")
        condition = _condition(where)
        column = feedback.c.score if sort_by == "score" else feedback.c.created_at_us
        order = (column.desc(), feedback.c.id.desc()) if descending else (column.asc(), feedback.c.id.asc())
        query = (
            sa.select(
                feedback,
                profile.c.key.label("profile_key"),
                profile.c.reference.label("profile_reference"),
                job.c.key.label("job_key"),
                job.c.reference.label("job_reference"),
            )
            .join(profile, profile.c.id == feedback.c.profile_id)
            .join(job, job.c.id == feedback.c.job_id)
            .where(condition)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(feedback).where(condition)).scalar_one()
            rows = connection.execute(query).all()
        return [_stored_feedback(row) for row in rows], total

    def newest_feedback_id(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.max(feedback.c.id))).scalar() or 0)

    def count_feedback_after(self, kind: str, role: str, after_id: int) -> int:
        condition = sa.and_(feedback.c.kind == kind, feedback.c.role == role, feedback.c.id > after_id)
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(feedback).where(condition)).scalar_one()

    def latest_actions(self, ranked: str, counterpart_id: int | None = None) -> list[tuple[int, str]]:
        """(record id, action) of the latest tracking of every (profile, job) pair: the stage each pair
        has reached. `ranked` ("profile" or "job") says which side's id is returned; `counterpart_id`
        keeps the pairs with that record on the other side (a job's candidates, a profile's jobs)."""
        own, other = (
            (feedback.c.profile_id, feedback.c.job_id)
            if ranked == "profile"
            else (feedback.c.job_id, feedback.c.profile_id)
        )
        turn = sa.func.row_number().over(
            partition_by=(feedback.c.profile_id, feedback.c.job_id),
            order_by=(feedback.c.created_at_us.desc(), feedback.c.id.desc()),
        )
        condition = _condition(FeedbackFilter(kind="tracking"))
        if counterpart_id is not None:
            condition = sa.and_(condition, other == counterpart_id)
        pairs = sa.select(own.label("record_id"), feedback.c.action, turn.label("turn")).where(condition).subquery()
        query = sa.select(pairs.c.record_id, pairs.c.action).where(pairs.c.turn == 1)
        with self.engine.connect() as connection:
            return [(int(record_id), str(action)) for record_id, action in connection.execute(query)]

    def feedback_rows(self, where: FeedbackFilter) -> list[FeedbackRow]:
        """Every stored event the filter selects, oldest first (what a training reads)."""
        query = sa.select(feedback).where(_condition(where)).order_by(feedback.c.created_at_us, feedback.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_feedback_row(row._mapping) for row in rows]

    # -- scoring calls -----------------------------------------------------------------------------

    def add_scoring_calls(self, calls: Sequence[ScoringCall]) -> None:
        if calls:
            with self.engine.begin() as connection:
                connection.execute(scoring_calls.insert(), [_fields(call) for call in calls])

    def scoring_call_counts(self, algorithm_key: str) -> dict[int, int]:
        query = (
            sa.select(scoring_calls.c.version, sa.func.count())
            .where(scoring_calls.c.algorithm_key == algorithm_key)
            .group_by(scoring_calls.c.version)
        )
        with self.engine.connect() as connection:
            return {int(version): int(count) for version, count in connection.execute(query).all()}

    # -- trainings ---------------------------------------------------------------------------------

    def add_training(self, training: StoredTraining) -> None:
        with self.engine.begin() as connection:
            connection.execute(trainings.insert().values(**_fields(training)))

    def get_training(self, key: str) -> StoredTraining | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(trainings).where(trainings.c.key == key)).first()
        return StoredTraining(**row._mapping) if row else None

    def live_algorithms(self) -> list[StoredAlgorithm]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(algorithms).where(algorithms.c.live_learning.is_not(None))).all()
        return [StoredAlgorithm(**row._mapping) for row in rows]

    def last_training(self, algorithm_key: str) -> StoredTraining | None:
        return next(iter(self.recent_trainings(algorithm_key, 1)), None)

    def recent_trainings(self, algorithm_key: str, limit: int) -> list[StoredTraining]:
        """An algorithm's trainings, newest first."""
        query = (
            sa.select(trainings)
            .where(trainings.c.algorithm_key == algorithm_key)
            .order_by(trainings.c.created_at_us.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [StoredTraining(**row._mapping) for row in rows]

    def next_queued_training(self) -> StoredTraining | None:
        query = sa.select(trainings).where(trainings.c.status == "queued").order_by(trainings.c.created_at_us).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return StoredTraining(**row._mapping) if row else None

    def update_training(self, key: str, expected_status: str | None = None, **values: object) -> bool:
        """Change a training; with `expected_status`, only if it still has it (a claim, a cancellation
        racing the worker). Returns whether it changed."""
        condition = trainings.c.key == key
        if expected_status is not None:
            condition = sa.and_(condition, trainings.c.status == expected_status)
        with self.engine.begin() as connection:
            return connection.execute(trainings.update().where(condition).values(**values)).rowcount == 1

    def requeue_running_trainings(self, updated_at_us: int) -> int:
        """Trainings a stopped worker left running start again from the beginning (nothing they did was
        published: a version lands in one transaction at the very end)."""
        with self.engine.begin() as connection:
            return connection.execute(
                trainings.update()
                .where(trainings.c.status == "running")
                .values(status="queued", progress=0.0, updated_at_us=updated_at_us)
            ).rowcount

    def publish_version(
        self,
        training_key: str,
        algorithm_key: str,
        created_at_us: int,
        model: str,
        metrics: str,
        log: str,
        review: str | None = None,
        held: bool = False,
    ) -> int | None:
        """The trained version and the training's end in one transaction; nothing when the training was
        cancelled meanwhile (returns None). A version `held` by the release gate is stored but does not
        serve, and its training ends as `held_for_review`."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                trainings.update()
                .where(
                    trainings.c.key == training_key,
                    trainings.c.status == "running",
                    trainings.c.cancel_requested.is_(False),
                )
                .values(
                    status="held_for_review" if held else "succeeded",
                    progress=1.0,
                    log=log,
                    updated_at_us=created_at_us,
                )
            ).rowcount
            if claimed != 1:
                return None
            latest = connection.execute(
                sa.select(sa.func.max(algorithm_versions.c.version)).where(
                    algorithm_versions.c.algorithm_key == algorithm_key
                )
            ).scalar_one()
            version = int(latest or 0) + 1
            connection.execute(
                algorithm_versions.insert().values(
                    algorithm_key=algorithm_key,
                    version=version,
                    created_at_us=created_at_us,
                    model=model,
                    metrics=metrics,
                    training_key=training_key,
                    review=review,
                )
            )
            if not held:  # the new version serves from the next scoring call on
                connection.execute(
                    algorithms.update().where(algorithms.c.key == algorithm_key).values(active_version=version)
                )
            connection.execute(trainings.update().where(trainings.c.key == training_key).values(version=version))
        return version

    def release_version(self, key: str, version: int, review: str, updated_at_us: int) -> None:
        """A held version serves after all (an admin's override): its review, its training's status and the
        algorithm's active version change together."""
        with self.engine.begin() as connection:
            connection.execute(
                algorithm_versions.update()
                .where(algorithm_versions.c.algorithm_key == key, algorithm_versions.c.version == version)
                .values(review=review)
            )
            connection.execute(
                trainings.update()
                .where(
                    trainings.c.algorithm_key == key,
                    trainings.c.version == version,
                    trainings.c.status == "held_for_review",
                )
                .values(status="succeeded", updated_at_us=updated_at_us)
            )
            connection.execute(algorithms.update().where(algorithms.c.key == key).values(active_version=version))


def _fields(item: object) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__slots__}  # type: ignore[attr-defined]  # slotted dataclasses


def _version(row: sa.Row) -> StoredVersion:
    return StoredVersion(row.version, row.created_at_us, row.model, row.metrics, row.training_key, row.review)


def _feedback_row(values: Any) -> FeedbackRow:
    return FeedbackRow(**{name: values[name] for name in FeedbackRow.__slots__})


def _stored_feedback(row: sa.Row) -> StoredFeedback:
    return StoredFeedback(
        _feedback_row(row._mapping), row.profile_key, row.profile_reference, row.job_key, row.job_reference
    )


def _condition(where: FeedbackFilter) -> sa.ColumnElement[bool]:
    # An erased profile's events (profile_id NULL) only count in aggregates: never listed, never learned from.
    clauses = [feedback.c.kind == where.kind, feedback.c.profile_id.is_not(None)]
    if where.role is not None:
        clauses.append(feedback.c.role == where.role)
    if where.source_keys is not None:
        clauses.append(feedback.c.source_key.in_(list(where.source_keys)))
    if where.board_keys is not None:
        clauses.append(feedback.c.board_key.in_(list(where.board_keys)))
    if where.profile_id is not None:
        clauses.append(feedback.c.profile_id == where.profile_id)
    if where.job_id is not None:
        clauses.append(feedback.c.job_id == where.job_id)
    if where.actions is not None:
        clauses.append(feedback.c.action.in_(list(where.actions)))
    if where.created_at_min_us is not None:
        clauses.append(feedback.c.created_at_us >= where.created_at_min_us)
    if where.created_at_max_us is not None:
        clauses.append(feedback.c.created_at_us <= where.created_at_max_us)
    return sa.and_(*clauses)
