"""What fairness audits keep: profiles' protected attributes, apart from the profiles, and the audits
(queued like trainings, their reports as JSON).

The attributes live in their own table so that nothing that reads a profile (features, embeddings,
training, explanations) can reach them: only `services/fairness.py` imports this module (an import-linter
contract in pyproject.toml). A profile's row is deleted with its record (ON DELETE CASCADE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from cerebro_serve.store.schema import fairness_attributes, fairness_audits, records


@dataclass(frozen=True, slots=True)
class StoredAttributes:
    record_id: int
    source_key: str
    gender: str | None
    ethnicity: str | None
    age_band: str | None
    location: str | None
    updated_at_us: int


@dataclass(frozen=True, slots=True)
class StoredAudit:
    key: str
    algorithm_key: str
    version: int | None
    status: str
    request: str  # JSON
    progress: float
    report: str | None  # JSON
    error: str | None
    cancel_requested: bool
    created_at_us: int
    updated_at_us: int


class FairnessStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- attributes --------------------------------------------------------------------------------

    def upsert_attributes(self, rows: Sequence[StoredAttributes]) -> None:
        """A profile's attributes replace the ones it had (each field: a value given as None clears it)."""
        if not rows:
            return
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(fairness_attributes)
        fields = ("source_key", "gender", "ethnicity", "age_band", "location", "updated_at_us")
        statement = insert.on_conflict_do_update(
            index_elements=["record_id"], set_={name: insert.excluded[name] for name in fields}
        )
        with self.engine.begin() as connection:
            connection.execute(statement, [_fields(row) for row in rows])

    def attributes_of(self, record_ids: Sequence[int]) -> dict[int, StoredAttributes]:
        found: dict[int, StoredAttributes] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(record_ids), 10_000):  # bound the IN list
                chunk = list(record_ids[start : start + 10_000])
                query = sa.select(fairness_attributes).where(fairness_attributes.c.record_id.in_(chunk))
                found.update((row.record_id, StoredAttributes(**row._mapping)) for row in connection.execute(query))
        return found

    def profiles_with_attributes(self, source_keys: Sequence[str]) -> list[int]:
        """Record ids of the sources' live profiles that have attributes."""
        query = (
            sa.select(fairness_attributes.c.record_id)
            .join(records, records.c.id == fairness_attributes.c.record_id)
            .where(fairness_attributes.c.source_key.in_(list(source_keys)), records.c.archived_at_us.is_(None))
            .order_by(fairness_attributes.c.record_id)
        )
        with self.engine.connect() as connection:
            return [int(record_id) for record_id in connection.execute(query).scalars()]

    # -- audits ------------------------------------------------------------------------------------

    def add_audit(self, audit: StoredAudit) -> None:
        with self.engine.begin() as connection:
            connection.execute(fairness_audits.insert().values(**_fields(audit)))

    def get_audit(self, key: str) -> StoredAudit | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(fairness_audits).where(fairness_audits.c.key == key)).first()
        return StoredAudit(**row._mapping) if row else None

    def next_queued_audit(self) -> StoredAudit | None:
        query = (
            sa.select(fairness_audits)
            .where(fairness_audits.c.status == "queued")
            .order_by(fairness_audits.c.created_at_us)
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return StoredAudit(**row._mapping) if row else None

    def update_audit(self, key: str, expected_status: str | None = None, **values: object) -> bool:
        """Change an audit; with `expected_status`, only if it still has it (a claim, a cancellation racing
        the worker). Returns whether it changed."""
        condition = fairness_audits.c.key == key
        if expected_status is not None:
            condition = sa.and_(condition, fairness_audits.c.status == expected_status)
        with self.engine.begin() as connection:
            return connection.execute(fairness_audits.update().where(condition).values(**values)).rowcount == 1

    def finish_audit(self, key: str, report: str, updated_at_us: int) -> bool:
        """The report of a running audit, unless a cancellation came first (then False: nothing is kept)."""
        condition = sa.and_(
            fairness_audits.c.key == key,
            fairness_audits.c.status == "running",
            fairness_audits.c.cancel_requested.is_(False),
        )
        values = {"status": "succeeded", "progress": 1.0, "report": report, "updated_at_us": updated_at_us}
        with self.engine.begin() as connection:
            return connection.execute(fairness_audits.update().where(condition).values(**values)).rowcount == 1

    def requeue_running_audits(self, updated_at_us: int) -> int:
        """Audits a stopped worker left running start again (an audit writes nothing until it ends)."""
        with self.engine.begin() as connection:
            return connection.execute(
                fairness_audits.update()
                .where(fairness_audits.c.status == "running")
                .values(status="queued", progress=0.0, updated_at_us=updated_at_us)
            ).rowcount


def _fields(item: object) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__slots__}  # type: ignore[attr-defined]  # slotted dataclasses
