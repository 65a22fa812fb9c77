"""The store, written once against SQLAlchemy Core and run on SQLite (embedded) or PostgreSQL.

Every write commits before it returns, and SQLite runs in WAL mode with `synchronous=FULL`, so a record
the API has acknowledged survives a crash of the process or the machine.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cerebro_serve.store.records import (
    Candidates,
    IndexRow,
    ParsingJob,
    RecordContent,
    RecordFilter,
    StoredPool,
    StoredRecord,
)
from cerebro_serve.store.schema import api_keys, migrate, parsing_jobs, pools, record_tags, records


class DuplicateReference(Exception):
    """A record with this reference already exists in the pool."""


PARSING_LEASE_US = 10 * 60 * 1_000_000


def now_us() -> int:
    return time.time_ns() // 1000


def _create_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlStore:
    """Pools, records (object, vector, filter columns), tags and API keys."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        with self.engine.begin() as connection:
            self.schema_version = migrate(connection)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- pools -------------------------------------------------------------------------------------

    def create_pool(self, kind: str, key: str, name: str, description: str | None) -> StoredPool:
        created = now_us()
        with self.engine.begin() as connection:
            connection.execute(
                pools.insert().values(key=key, kind=kind, name=name, description=description, created_at_us=created)
            )
        return StoredPool(key, kind, name, description, created, revision=0)

    def get_pool(self, kind: str, key: str, with_size: bool = False) -> StoredPool | None:
        """A pool; counting its live records (`size`) costs a scan, so only when asked."""
        with self.engine.connect() as connection:
            row = connection.execute(
                self._pool_select(with_size).where(pools.c.kind == kind, pools.c.key == key)
            ).first()
        return self._pool_from_row(row) if row else None

    def list_pools(
        self, kind: str, name: str | None, offset: int, limit: int, descending: bool
    ) -> tuple[list[StoredPool], int]:
        condition = pools.c.kind == kind
        if name:
            condition = sa.and_(
                condition, sa.func.lower(pools.c.name).like(f"%{_like_escape(name.lower())}%", escape="\\")
            )
        order = pools.c.created_at_us.desc() if descending else pools.c.created_at_us.asc()
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(pools).where(condition)).scalar_one()
            rows = connection.execute(
                self._pool_select(with_size=True)
                .where(condition)
                .order_by(order, pools.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [self._pool_from_row(row) for row in rows], total

    def pool_revision(self, key: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(pools.c.revision).where(pools.c.key == key)).scalar_one()

    @staticmethod
    def _pool_select(with_size: bool) -> sa.Select:
        if not with_size:
            return sa.select(pools, sa.literal(0).label("size"))
        live = sa.and_(records.c.pool_key == pools.c.key, records.c.archived_at_us.is_(None))
        size = sa.select(sa.func.count()).select_from(records).where(live).scalar_subquery()
        return sa.select(pools, size.label("size"))

    @staticmethod
    def _pool_from_row(row: sa.Row) -> StoredPool:
        return StoredPool(row.key, row.kind, row.name, row.description, row.created_at_us, row.revision, row.size)

    # -- records -----------------------------------------------------------------------------------

    def insert_record(
        self, *, kind: str, key: str, pool_key: str, created_at_us: int, content: RecordContent
    ) -> tuple[int, int]:
        """Insert a record and its tags; returns (record id, new pool revision)."""
        values = dict(
            kind=kind,
            key=key,
            pool_key=pool_key,
            created_at_us=created_at_us,
            updated_at_us=created_at_us,
            **content.columns(),
        )
        try:
            with self.engine.begin() as connection:
                record_id = connection.execute(records.insert().values(**values)).inserted_primary_key[0]
                self._write_tags(connection, record_id, content.tags)
                revision = self._bump_revision(connection, pool_key)
        except sa.exc.IntegrityError as error:
            raise DuplicateReference(content.reference) from error
        return int(record_id), revision

    def update_record(self, record_id: int, pool_key: str, updated_at_us: int, content: RecordContent) -> int:
        """Replace a record's object, vector and tags; returns the new pool revision."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    records.update()
                    .where(records.c.id == record_id)
                    .values(updated_at_us=updated_at_us, **content.columns())
                )
                connection.execute(record_tags.delete().where(record_tags.c.record_id == record_id))
                self._write_tags(connection, record_id, content.tags)
                return self._bump_revision(connection, pool_key)
        except sa.exc.IntegrityError as error:
            raise DuplicateReference(content.reference) from error

    def set_archived(self, record_id: int, pool_key: str, archived_at_us: int | None, body: bytes) -> int:
        """Archive (or restore, with None) a record; returns the new pool revision."""
        with self.engine.begin() as connection:
            connection.execute(
                records.update()
                .where(records.c.id == record_id)
                .values(archived_at_us=archived_at_us, body=body, updated_at_us=now_us())
            )
            return self._bump_revision(connection, pool_key)

    def find_record(
        self,
        kind: str,
        pool_key: str,
        *,
        key: str | None = None,
        reference: str | None = None,
        email: str | None = None,
    ) -> StoredRecord | None:
        condition = sa.and_(records.c.kind == kind, records.c.pool_key == pool_key)
        if key is not None:
            condition = sa.and_(condition, records.c.key == key)
        if reference is not None:
            condition = sa.and_(condition, records.c.reference == reference)
        if email is not None:
            condition = sa.and_(condition, records.c.email == email.lower())
        with self.engine.connect() as connection:
            row = connection.execute(self._record_select().where(condition).order_by(records.c.id)).first()
        return self._record_from_row(row) if row else None

    def load_records(self, ids: Sequence[int]) -> list[StoredRecord]:
        """Records by id, in the order asked."""
        if not len(ids):
            return []
        wanted = [int(i) for i in ids]
        with self.engine.connect() as connection:
            rows = connection.execute(self._record_select().where(records.c.id.in_(wanted))).all()
        by_id = {row.id: self._record_from_row(row) for row in rows}
        return [by_id[i] for i in wanted if i in by_id]

    def filter_records(self, kind: str, pool_keys: Sequence[str], record_filter: RecordFilter) -> Candidates:
        """Ids and dates of the live records of these pools that pass the filter, sorted by id."""
        condition = sa.and_(
            records.c.kind == kind,
            records.c.pool_key.in_(list(pool_keys)),
            records.c.archived_at_us.is_(None),
        )
        f = record_filter
        if f.created_at_min_us is not None:
            condition = sa.and_(condition, records.c.created_at_us >= f.created_at_min_us)
        if f.created_at_max_us is not None:
            condition = sa.and_(condition, records.c.created_at_us <= f.created_at_max_us)
        for keyword in f.text_keywords:
            pattern = f"%{_like_escape(keyword.casefold())}%"
            condition = sa.and_(condition, records.c.search_text.like(pattern, escape="\\"))
        if f.name:
            pattern = f"%{_like_escape(f.name.casefold())}%"
            condition = sa.and_(condition, records.c.name.like(pattern, escape="\\"))
        if f.key is not None:
            condition = sa.and_(condition, records.c.key == f.key)
        if f.reference is not None:
            condition = sa.and_(condition, records.c.reference == f.reference)
        query = (
            sa.select(records.c.id, records.c.created_at_us, records.c.updated_at_us)
            .where(condition)
            .order_by(records.c.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        if not rows:
            return Candidates()
        # fromiter over the flat values: numpy.array() on Row objects probes each one as a mapping.
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=3 * len(rows))
        columns = flat.reshape(-1, 3)
        return Candidates(
            np.ascontiguousarray(columns[:, 0]),
            np.ascontiguousarray(columns[:, 1]),
            np.ascontiguousarray(columns[:, 2]),
        )

    def record_vectors(self, record_id: int) -> tuple[str, bytes, bytes | None]:
        """(model name, raw view vectors, raw features) stored with a record."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(records.c.model, records.c.embedding, records.c.features).where(records.c.id == record_id)
            ).one()
        return row.model, bytes(row.embedding), bytes(row.features) if row.features is not None else None

    def index_rows(self, pool_key: str, batch: int = 5_000) -> Iterator[IndexRow]:
        """Every record of a pool (archived ones too, so restoring one needs no recomputation), by id."""
        query = (
            sa.select(
                records.c.id,
                records.c.kind,
                records.c.created_at_us,
                records.c.updated_at_us,
                records.c.archived_at_us,
                records.c.model,
                records.c.embedding,
                records.c.features,
                records.c.body,
            )
            .where(records.c.pool_key == pool_key)
            .order_by(records.c.id)
        )
        tags_query = (
            sa.select(record_tags.c.record_id, record_tags.c.name, record_tags.c.value)
            .join(records, records.c.id == record_tags.c.record_id)
            .where(records.c.pool_key == pool_key)
        )
        with self.engine.connect() as connection:
            tags: dict[int, list[tuple[str, str | None]]] = {}
            for record_id, name, value in connection.execute(tags_query):
                tags.setdefault(record_id, []).append((name, value))
            result = connection.execution_options(yield_per=batch).execute(query)
            for row in result:
                yield IndexRow(
                    row.id,
                    row.kind,
                    row.created_at_us,
                    row.updated_at_us,
                    row.archived_at_us is not None,
                    row.model,
                    bytes(row.embedding),
                    bytes(row.features) if row.features is not None else None,
                    bytes(row.body),
                    tuple(tags.get(row.id, ())),
                )

    def replace_embeddings(self, pool_key: str, model: str, computed: dict[int, tuple[np.ndarray, bytes]]) -> int:
        """Store view vectors and features computed anew (another model, an older schema); returns the
        new pool revision."""
        with self.engine.begin() as connection:
            for record_id, (embedding, features) in computed.items():
                connection.execute(
                    records.update()
                    .where(records.c.id == record_id)
                    .values(
                        model=model,
                        embedding=np.ascontiguousarray(embedding, dtype=np.float32).tobytes(),
                        features=features,
                    )
                )
            return self._bump_revision(connection, pool_key)

    @staticmethod
    def _record_select() -> sa.Select:
        return sa.select(
            records.c.id,
            records.c.kind,
            records.c.key,
            records.c.pool_key,
            records.c.reference,
            records.c.body,
            records.c.created_at_us,
            records.c.updated_at_us,
            records.c.archived_at_us,
        )

    @staticmethod
    def _record_from_row(row: sa.Row) -> StoredRecord:
        return StoredRecord(
            row.id,
            row.kind,
            row.key,
            row.pool_key,
            row.reference,
            bytes(row.body),
            row.created_at_us,
            row.updated_at_us,
            row.archived_at_us,
        )

    @staticmethod
    def _write_tags(connection: Connection, record_id: int, tags: Iterable[tuple[str, str | None]]) -> None:
        rows = [{"record_id": record_id, "name": name, "value": value} for name, value in tags]
        if rows:
            connection.execute(record_tags.insert(), rows)

    @staticmethod
    def _bump_revision(connection: Connection, pool_key: str) -> int:
        connection.execute(pools.update().where(pools.c.key == pool_key).values(revision=pools.c.revision + 1))
        return connection.execute(sa.select(pools.c.revision).where(pools.c.key == pool_key)).scalar_one()

    # -- parsing queue -----------------------------------------------------------------------------

    def enqueue_parsing(self, key: str, source_key: str, reference: str | None, request: bytes) -> None:
        now = now_us()
        with self.engine.begin() as connection:
            connection.execute(
                parsing_jobs.insert().values(
                    key=key,
                    source_key=source_key,
                    reference=reference,
                    status="queued",
                    request=request,
                    created_at_us=now,
                    updated_at_us=now,
                )
            )

    @staticmethod
    def _claimable(lease_us: int) -> sa.ColumnElement[bool]:
        """Queued, or taken by a worker that has held it past the lease (it died with the job)."""
        expired = sa.and_(parsing_jobs.c.status == "running", parsing_jobs.c.claimed_at_us < now_us() - lease_us)
        return sa.or_(parsing_jobs.c.status == "queued", expired)

    def queued_parsing(self, limit: int, lease_us: int = PARSING_LEASE_US) -> list[ParsingJob]:
        """The oldest jobs a worker may take, including those a dead worker left running."""
        query = (
            sa.select(parsing_jobs)
            .where(self._claimable(lease_us))
            .order_by(parsing_jobs.c.created_at_us, parsing_jobs.c.key)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [self._parsing_job(row) for row in connection.execute(query)]

    def claim_parsing(self, key: str, lease_us: int = PARSING_LEASE_US) -> bool:
        """Take a job for this worker; False when another worker (or process) got it first."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                parsing_jobs.update()
                .where(parsing_jobs.c.key == key, self._claimable(lease_us))
                .values(status="running", claimed_at_us=now_us())
            )
        return claimed.rowcount == 1

    def finish_parsing(self, key: str, error: str | None) -> None:
        """Mark a job done (or failed) and drop the file it carried."""
        with self.engine.begin() as connection:
            connection.execute(
                parsing_jobs.update()
                .where(parsing_jobs.c.key == key)
                .values(status="failed" if error else "succeeded", error=error, request=None, updated_at_us=now_us())
            )

    def find_parsing(
        self, source_key: str, *, key: str | None = None, reference: str | None = None
    ) -> ParsingJob | None:
        condition = parsing_jobs.c.source_key == source_key
        if key is not None:
            condition = sa.and_(condition, parsing_jobs.c.key == key)
        if reference is not None:
            condition = sa.and_(condition, parsing_jobs.c.reference == reference)
        query = sa.select(parsing_jobs).where(condition).order_by(parsing_jobs.c.created_at_us.desc()).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return self._parsing_job(row) if row else None

    @staticmethod
    def _parsing_job(row: sa.Row) -> ParsingJob:
        request = bytes(row.request) if row.request is not None else None
        return ParsingJob(row.key, row.source_key, row.reference, row.status, request, row.error)

    # -- API keys ----------------------------------------------------------------------------------

    def add_api_key(self, key_hash: str, permission: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                api_keys.insert().values(key_hash=key_hash, permission=permission, created_at_us=now_us())
            )

    def api_key_permission(self, key_hash: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(api_keys.c.permission).where(api_keys.c.key_hash == key_hash)).scalar()


def open_store(url: str) -> SqlStore:
    return SqlStore(url)
