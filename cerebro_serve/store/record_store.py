"""Records: each object with its vectors, features, tags and filter columns, written in one transaction
that bumps its pool's revision; the filters that select candidates; the rows indexes are built from."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cerebro_serve.store.connection import IN_CHUNK, like_escape, now_us
from cerebro_serve.store.record_facets import (
    erase_facets,
    facet_conditions,
    lacking_facets,
    near,
    replace_facets,
    write_facets,
)
from cerebro_serve.store.records import (
    Candidates,
    Erasure,
    IndexRow,
    PoolChanges,
    RecordContent,
    RecordFacets,
    RecordFilter,
    StoredRecord,
)
from cerebro_serve.store.schema import (
    feedback,
    parsing_jobs,
    pools,
    record_erasures,
    record_tags,
    records,
    scoring_calls,
)
from cerebro_serve.store.sharding import shard_number_sql
from cerebro_serve.store.text_search import SEARCH_TABLE, keyword_condition, search_tables


class DuplicateReference(Exception):
    """A record with this reference already exists in the pool."""


class RecordStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._search_tables = search_tables(engine)  # migrated before: the store opens them in order

    def insert_record(
        self, *, kind: str, key: str, pool_key: str, created_at_us: int, content: RecordContent
    ) -> tuple[int, int]:
        """Insert a record and its tags; returns (record id, new pool revision)."""
        [inserted] = self.insert_records(kind=kind, pool_key=pool_key, rows=[(key, created_at_us, content)])
        return inserted

    def insert_records(
        self, *, kind: str, pool_key: str, rows: Sequence[tuple[str, int, RecordContent]]
    ) -> list[tuple[int, int]]:
        """Insert records (key, created_at_us, content) and their tags in one transaction, all or none (a
        bulk import commits a batch at once); returns each one's (record id, pool revision), the revisions
        consecutive in the order given."""
        if not rows:
            return []
        values = [
            dict(
                kind=kind,
                key=key,
                pool_key=pool_key,
                created_at_us=created_at_us,
                updated_at_us=created_at_us,
                **content.columns(),
            )
            for key, created_at_us, content in rows
        ]
        insert = records.insert().returning(records.c.id, sort_by_parameter_order=True)
        try:
            with self.engine.begin() as connection:
                last = self._bump_revision(connection, pool_key, len(rows))
                revisions = range(last - len(rows) + 1, last + 1)
                for value, revision in zip(values, revisions):
                    value["revision"] = revision
                ids = [int(record_id) for record_id in connection.execute(insert, values).scalars()]
                tags = [
                    {"record_id": record_id, "name": name, "value": value}
                    for record_id, (_, _, content) in zip(ids, rows)
                    for name, value in content.tags
                ]
                if tags:
                    connection.execute(record_tags.insert(), tags)
                write_facets(
                    connection,
                    [(record_id, content.facets) for record_id, (_, _, content) in zip(ids, rows) if content.facets],
                )
        except sa.exc.IntegrityError as error:
            raise DuplicateReference(rows[0][2].reference if len(rows) == 1 else None) from error
        return list(zip(ids, revisions))

    def taken(
        self, kind: str, pool_key: str, keys: Sequence[str], references: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """Which of these keys, and which of these references, records of the pool already have (one query
        each: a bulk import checks a batch at once)."""
        found_keys: set[str] = set()
        found_references: set[str] = set()
        with self.engine.connect() as connection:
            for column, wanted, found in (
                (records.c.key, keys, found_keys),
                (records.c.reference, references, found_references),
            ):
                for start in range(0, len(wanted), IN_CHUNK):
                    chunk = list(wanted[start : start + IN_CHUNK])
                    query = sa.select(column).where(
                        records.c.kind == kind, records.c.pool_key == pool_key, column.in_(chunk)
                    )
                    found.update(connection.execute(query).scalars())
        return found_keys, found_references

    def update_record(self, record_id: int, pool_key: str, updated_at_us: int, content: RecordContent) -> int:
        """Replace a record's object, vector and tags; returns the new pool revision."""
        try:
            with self.engine.begin() as connection:
                revision = self._bump_revision(connection, pool_key)
                connection.execute(
                    records.update()
                    .where(records.c.id == record_id)
                    .values(updated_at_us=updated_at_us, revision=revision, **content.columns())
                )
                connection.execute(record_tags.delete().where(record_tags.c.record_id == record_id))
                self._write_tags(connection, record_id, content.tags)
                erase_facets(connection, record_id)
                if content.facets is not None:
                    write_facets(connection, [(record_id, content.facets)])
                return revision
        except sa.exc.IntegrityError as error:
            raise DuplicateReference(content.reference) from error

    def set_archived(self, record_id: int, pool_key: str, archived_at_us: int | None, body: bytes) -> int:
        """Archive (or restore, with None) a record; returns the new pool revision."""
        with self.engine.begin() as connection:
            revision = self._bump_revision(connection, pool_key)
            connection.execute(
                records.update()
                .where(records.c.id == record_id)
                .values(archived_at_us=archived_at_us, body=body, updated_at_us=now_us(), revision=revision)
            )
            return revision

    def erase_record(self, record_id: int, pool_key: str) -> Erasure:
        """Delete a record and what names it in one transaction (bumping the pool's revision): its tags,
        protected attributes and parsing jobs. Its feedback stays as anonymous events for aggregate counts
        (no profile, no author, no comment, a fingerprint no longer derived from it), as do the scoring
        calls it anchored (without its key)."""
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(records.c.key, records.c.reference, records.c.embedding, records.c.features).where(
                    records.c.id == record_id
                )
            ).one()
            mine = parsing_jobs.c.key == row.key
            if row.reference is not None:
                same = sa.and_(parsing_jobs.c.source_key == pool_key, parsing_jobs.c.reference == row.reference)
                mine = sa.or_(mine, same)
            jobs = connection.execute(parsing_jobs.delete().where(mine)).rowcount
            anonymised = connection.execute(
                feedback.update()
                .where(feedback.c.profile_id == record_id)
                .values(
                    profile_id=None, author_email=None, comment=None, fingerprint=sa.literal("erased:") + feedback.c.key
                )
            ).rowcount
            calls = connection.execute(
                scoring_calls.update().where(scoring_calls.c.anchor_key == row.key).values(anchor_key="")
            ).rowcount
            attributes = 0
            if sa.inspect(connection).has_table("fairness_attributes"):  # also cascades; deleted here to count
                attributes = connection.execute(
                    sa.text("DELETE FROM fairness_attributes WHERE record_id = :id"), {"id": record_id}
                ).rowcount
            tags = connection.execute(record_tags.delete().where(record_tags.c.record_id == record_id)).rowcount
            facets = erase_facets(connection, record_id)
            connection.execute(records.delete().where(records.c.id == record_id))
            revision = self._bump_revision(connection, pool_key)
            connection.execute(
                record_erasures.insert().values(pool_key=pool_key, record_id=record_id, revision=revision)
            )
        return Erasure(
            records=1,
            vectors=int(bool(row.embedding)),
            features=int(row.features is not None),
            tags=tags,
            facets=facets,
            protected_attributes=attributes,
            parsing_jobs=jobs,
            feedback_anonymised=anonymised,
            scoring_calls_unlinked=calls,
        )

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
        indexed = SEARCH_TABLE if SEARCH_TABLE in self._search_tables else None
        for keyword in f.text_keywords:
            matching = keyword_condition(records.c.search_text, records.c.id, keyword.casefold(), indexed)
            condition = sa.and_(condition, matching)
        condition = sa.and_(condition, *facet_conditions(f, self._search_tables))
        if f.name:
            pattern = f"%{like_escape(f.name.casefold())}%"
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
            if f.places:  # the SQL kept their bounding boxes: now the radii
                columns = columns[near(connection, columns[:, 0], f.places)]
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

    def latest_vectors_tag(self) -> str | None:
        """What the vectors of the record written last are labelled with (engine/views.py `vectors_tag`):
        which model the workspace embeds with. None when the store holds no record."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(records.c.model).order_by(records.c.id.desc()).limit(1)).scalar()

    def records_vectors(self, ids: Sequence[int]) -> dict[int, tuple[str, bytes]]:
        """(model name, raw view vectors) stored with each of these records, in one read."""
        if not len(ids):
            return {}
        query = sa.select(records.c.id, records.c.model, records.c.embedding).where(
            records.c.id.in_([int(i) for i in ids])
        )
        with self.engine.connect() as connection:
            return {row.id: (row.model, bytes(row.embedding)) for row in connection.execute(query)}

    def index_rows(
        self, pool_key: str, batch: int = 5_000, since: int | None = None, shard: tuple[int, int] | None = None
    ) -> Iterator[IndexRow]:
        """Every record of a pool (archived ones too, so restoring one needs no recomputation), by id; with
        `since`, only those written after that pool revision; with `shard` (number, count), only that
        shard's (`store/sharding.py`)."""
        condition = records.c.pool_key == pool_key
        if since is not None:
            condition = sa.and_(condition, records.c.revision > since)
        if shard is not None:
            condition = sa.and_(condition, shard_number_sql(records.c.id, shard[1]) == shard[0])
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
            .where(condition)
            .order_by(records.c.id)
        )
        tags_query = (
            sa.select(record_tags.c.record_id, record_tags.c.name, record_tags.c.value)
            .join(records, records.c.id == record_tags.c.record_id)
            .where(condition)
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

    def changes_since(self, pool_key: str, revision: int, shard: tuple[int, int] | None = None) -> PoolChanges:
        """What the pool's writes after `revision` left: the records written (as index rows; with `shard`,
        that shard's) and the ids erased. Read the pool's revision before calling: everything up to it is
        in the answer (a later write may be too: applying it twice is harmless)."""
        written = list(self.index_rows(pool_key, since=revision, shard=shard))
        with self.engine.connect() as connection:
            erased = connection.execute(
                sa.select(record_erasures.c.record_id)
                .where(record_erasures.c.pool_key == pool_key, record_erasures.c.revision > revision)
                .order_by(record_erasures.c.revision)
            ).scalars()
            return PoolChanges(written, [int(record_id) for record_id in erased])

    def replace_embeddings(
        self, pool_key: str, model: str, computed: dict[int, tuple[np.ndarray | None, bytes]]
    ) -> int:
        """Store view vectors and features computed anew (another model, an older schema; vectors None: the
        stored ones stay, only the features were computed again); returns the new pool revision."""
        with self.engine.begin() as connection:
            revision = self._bump_revision(connection, pool_key)
            for record_id, (embedding, features) in computed.items():
                values: dict[str, object] = {"features": features, "revision": revision}
                if embedding is not None:
                    values |= {"model": model, "embedding": np.ascontiguousarray(embedding, np.float32).tobytes()}
                connection.execute(records.update().where(records.c.id == record_id).values(**values))
            return revision

    def records_lacking_facets(self, pool_key: str, batch: int) -> Iterator[list[tuple[int, str, bytes]]]:
        """(id, kind, body) of the pool's records whose facets are missing or older, a batch at a time."""
        return lacking_facets(self.engine, pool_key, batch)

    def replace_facets(self, described: Sequence[tuple[int, RecordFacets]]) -> None:
        """Store facets computed for records that lacked them."""
        replace_facets(self.engine, described)

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
    def _bump_revision(connection: Connection, pool_key: str, by: int = 1) -> int:
        connection.execute(pools.update().where(pools.c.key == pool_key).values(revision=pools.c.revision + by))
        return connection.execute(sa.select(pools.c.revision).where(pools.c.key == pool_key)).scalar_one()
