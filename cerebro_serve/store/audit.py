"""The audit trail's table: append-only, tamper-evident events.

Each event is stored as the canonical JSON that was hashed, with the hash of the event before it and its
own: `hash = sha256(previous_hash + "\\n" + event)`. Changing, removing or reordering any event breaks the
chain at that point, which `verify` finds. Retention removes the oldest events; the first kept one's
`previous_hash` is then the anchor the chain is checked from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cerebro_serve.store.schema import audit_events

GENESIS = "0" * 64  # the previous hash of the first event ever written


class AuditEvent(msgspec.Struct, kw_only=True):
    """One request, as the trail keeps it (parameters and the person's email arrive already hashed)."""

    at_us: int
    key_id: str | None  # a digest of the key presented, never the key
    user: str | None  # X-USER-EMAIL, hashed
    method: str
    route: str
    status: int
    latency_us: int
    parameters: dict[str, Any]
    algorithm_key: str | None = None
    algorithm_version: int | None = None
    results: list[Any] = []  # [key, score] of what the answer returned, in its order


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    event: AuditEvent
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditFilter:
    from_us: int | None = None
    to_us: int | None = None
    key_id: str | None = None
    route: str | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    checked: int
    broken_at: int | None  # the id of the first event whose hash or link does not hold


def chain_hash(previous_hash: str, event: bytes) -> str:
    return hashlib.sha256(previous_hash.encode() + b"\n" + event).hexdigest()


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, events: Sequence[AuditEvent]) -> None:
        """Chain and write events in one transaction. Writers in several processes serialise on the table
        (PostgreSQL: an exclusive lock; SQLite: one writer at a time), so no two events share a link."""
        if not events:
            return
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
            else:  # rewriting the last event as it is takes SQLite's write lock before the link is read
                last_id = sa.select(sa.func.max(audit_events.c.id)).scalar_subquery()
                connection.execute(
                    audit_events.update().where(audit_events.c.id == last_id).values(hash=audit_events.c.hash)
                )
            last = connection.execute(
                sa.select(audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1)
            ).scalar()
            previous = last or GENESIS
            rows = []
            for event in events:
                encoded = msgspec.json.encode(event, order="sorted")
                digest = chain_hash(previous, encoded)
                rows.append(
                    {"at_us": event.at_us, "event": encoded.decode(), "previous_hash": previous, "hash": digest}
                )
                previous = digest
            connection.execute(audit_events.insert(), rows)

    def events(self, where: AuditFilter, offset: int, limit: int) -> tuple[list[StoredEvent], int]:
        """Newest first, with the count of all that match."""
        conditions = _conditions(where)
        with self.engine.connect() as connection:
            total = connection.execute(
                sa.select(sa.func.count()).select_from(audit_events).where(*conditions)
            ).scalar_one()
            rows = connection.execute(
                sa.select(audit_events)
                .where(*conditions)
                .order_by(audit_events.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [_stored(row) for row in rows], int(total)

    def all_events(self, where: AuditFilter, batch: int = 5_000) -> Iterator[StoredEvent]:
        """Oldest first, in batches (an export)."""
        after = 0
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(audit_events)
                    .where(audit_events.c.id > after, *_conditions(where))
                    .order_by(audit_events.c.id)
                    .limit(batch)
                ).all()
            yield from (_stored(row) for row in rows)
            if len(rows) < batch:
                return
            after = rows[-1].id

    def verify(self, batch: int = 5_000) -> Verification:
        """Walk the chain from its oldest kept event: each hash must be the hash of its own event and link,
        and each link the hash before it."""
        checked, previous, after = 0, None, 0
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(audit_events).where(audit_events.c.id > after).order_by(audit_events.c.id).limit(batch)
                ).all()
            for row in rows:
                linked = previous is None or row.previous_hash == previous
                if not linked or chain_hash(row.previous_hash, row.event.encode()) != row.hash:
                    return Verification(checked, row.id)
                previous = row.hash
                checked += 1
            if len(rows) < batch:
                return Verification(checked, None)
            after = rows[-1].id

    def prune(self, before_us: int) -> int:
        """Remove events older than the retention (the oldest first: the chain stays whole after them)."""
        with self.engine.begin() as connection:
            return connection.execute(audit_events.delete().where(audit_events.c.at_us < before_us)).rowcount


def _conditions(where: AuditFilter) -> list[Any]:
    columns = audit_events.c
    conditions: list[Any] = []
    if where.from_us is not None:
        conditions.append(columns.at_us >= where.from_us)
    if where.to_us is not None:
        conditions.append(columns.at_us <= where.to_us)
    for name in ("key_id", "route", "status"):
        value = getattr(where, name)
        if value is not None:  # matched inside the stored JSON: exact, since it is canonical
            conditions.append(
                columns.event.contains(msgspec.json.encode({name: value}).decode()[1:-1], autoescape=True)
            )
    return conditions


def _stored(row: sa.Row) -> StoredEvent:
    return StoredEvent(row.id, msgspec.json.decode(row.event, type=AuditEvent), row.previous_hash, row.hash)
