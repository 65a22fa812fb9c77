"""Indexing, editing, archiving and reading profiles and jobs.

A write computes the object's features and embeds its views first (slow, outside any lock), then commits
the record, its vectors and features to the store and only then updates the pool's in-memory index and
feature columns, under the pool's write lock.
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np

from cerebro_serve.cancellation import stop_if_abandoned
from cerebro_serve.engine import Encoder
from cerebro_serve.engine.views import (
    MATCHING_HEAD_TOKENS,
    VIEWS,
    embed_cut_views,
    embed_views,
    head_tokens,
    long_views,
    vectors_tag,
    view_texts,
)
from cerebro_serve.index import IndexRegistry
from cerebro_serve.index.registry import Described, PoolIndex
from cerebro_serve.index.topk import order_by_date
from cerebro_serve.objects import JOB, PROFILE, Job, PoolRef, Profile, R, Record, RecordKind
from cerebro_serve.record_features import REFUSES_EMBEDDING, RecordFeatures
from cerebro_serve.scoring.consent import allows
from cerebro_serve.scoring.features import FeatureExtractor
from cerebro_serve.scoring.preparation import Prepared, Preparer
from cerebro_serve.services.errors import Conflict, InvalidParameters, Missing, NotFound
from cerebro_serve.services.pages import Page
from cerebro_serve.services.pools import PoolService
from cerebro_serve.services.queries import JobsStoringQuery, ProfilesStoringQuery, RecordLookup, RecordQuery
from cerebro_serve.services.record_facets import facets_of
from cerebro_serve.services.timestamps import format_timestamp, optional_timestamp, parse_timestamp
from cerebro_serve.store import IndexRow, RecordContent, RecordFilter, SqlStore, StoredPool, StoredRecord
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.record_store import DuplicateReference
from cerebro_serve.store.records import Erasure

log = logging.getLogger(__name__)
# Stale records (another model, an older schema) are described again this many at a time.
REFRESH_BATCH = 256
KEY_PATTERN = re.compile(r"^[0-9a-f]{40}$")
# Fields the server owns: an edit never takes them from the caller.
SERVER_FIELDS = frozenset(
    {"id", "key", "source_key", "board_key", "source", "board", "archive", "archived_at", "created_at", "updated_at"}
)


def tag_value(value: Any) -> str | None:
    """Tag values are any JSON; compare them as text, so "1" and 1 and true/"true" filter alike."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def display_name(record: Record) -> str | None:
    if isinstance(record, Job):
        return record.name.casefold() if record.name else None
    info = record.info
    name = info.full_name or " ".join(part for part in (info.first_name, info.last_name) if part)
    return name.casefold() or None


def email_of(record: Record) -> str | None:
    if isinstance(record, Profile) and record.info.email:
        return record.info.email.strip().lower()
    return None


class RecordService:
    def __init__(
        self,
        store: SqlStore,
        pools: PoolService,
        encoder: Encoder,
        registry: IndexRegistry,
        extractor: FeatureExtractor,
        embed_max_chars: int,
        holds_pools: bool = True,
    ) -> None:
        """`embed_max_chars`: how much of each view the encoder reads, so one huge record costs the encoder
        no more than a long resume (features and keyword search still read all of it). `holds_pools`:
        a write loads its pool's index here (and it is saved at shutdown, for a fast restart); False where
        a cluster's shards hold the pools: a write updates an index only where one is loaded."""
        self.holds_pools = holds_pools
        self.store = store
        self.pools = pools
        self.encoder = encoder
        self.registry = registry
        self.extractor = extractor
        self.embed_max_chars = embed_max_chars
        self.preparer = Preparer(extractor, embed_max_chars, encoder.head_cutter(), encoder.name)

    # -- reads -------------------------------------------------------------------------------------

    def materialize(self, kind: RecordKind[R], stored: StoredRecord, pool: StoredPool | None = None) -> R:
        """The stored object with the server-owned fields filled from their columns."""
        record = msgspec.json.decode(stored.body, type=kind.type)
        pool = pool or self.pools.require(kind, stored.pool_key)
        archived = format_timestamp(stored.archived_at_us)
        fields: dict[str, Any] = {
            "id": stored.id,
            "key": stored.key,
            "reference": stored.reference,
            kind.pool_key_field: stored.pool_key,
            kind.pool: PoolRef(key=pool.key, name=pool.name),
            "archive": archived,
            "archived_at": archived,
            "created_at": format_timestamp(stored.created_at_us),
            "updated_at": format_timestamp(stored.updated_at_us),
        }
        return msgspec.structs.replace(record, **fields)

    def materialize_many(self, kind: RecordKind, stored: Sequence[StoredRecord]) -> builtins.list[Record]:
        pools: dict[str, StoredPool] = {}
        out = []
        for record in stored:
            if record.pool_key not in pools:
                pools[record.pool_key] = self.pools.require(kind, record.pool_key)
            out.append(self.materialize(kind, record, pools[record.pool_key]))
        return out

    def find(self, kind: RecordKind, pool_key: str, lookup: RecordLookup) -> StoredRecord:
        self.pools.require(kind, pool_key)
        if lookup.key is None and lookup.reference is None and lookup.email is None:
            raise InvalidParameters(f"give the {kind.name}'s `key` or `reference`")
        stored = self.store.records.find_record(
            kind.name, pool_key, key=lookup.key, reference=lookup.reference, email=lookup.email
        )
        if stored is None:
            raise NotFound(kind.name)
        return stored

    def get(self, kind: RecordKind[R], pool_key: str, lookup: RecordLookup) -> R:
        return self.materialize(kind, self.find(kind, pool_key, lookup))

    def list(self, kind: RecordKind, query: ProfilesStoringQuery | JobsStoringQuery) -> Page[Any]:
        pool_keys = query.source_keys if isinstance(query, ProfilesStoringQuery) else query.board_keys
        if not pool_keys:
            raise InvalidParameters(f"`{kind.pool}_keys` must name at least one {kind.pool}")
        for pool_key in pool_keys:
            self.pools.require(kind, pool_key)
        record_filter = RecordFilter(
            created_at_min_us=optional_timestamp(query.created_at_min, "created_at_min"),
            created_at_max_us=optional_timestamp(query.created_at_max, "created_at_max"),
            name=query.name,
            key=query.key,
            reference=query.reference,
        )
        candidates = self.store.records.filter_records(kind.name, pool_keys, record_filter)
        dates = candidates.created_at_us if query.sort_by == "created_at" else candidates.updated_at_us
        order = order_by_date(candidates.ids, dates, descending=query.order_by != "asc")
        start = (query.page - 1) * query.limit
        page_ids = candidates.ids[order[start : start + query.limit]]
        records = self.materialize_many(kind, self.store.records.load_records(page_ids.tolist()))
        full = query.return_profile if isinstance(query, ProfilesStoringQuery) else query.return_job
        items: builtins.list[Any] = records if full else [_summary(kind, record) for record in records]
        return Page(items, query.page, query.limit, len(candidates))

    # -- writes ------------------------------------------------------------------------------------

    def index(self, kind: RecordKind[R], pool_key: str, records: Sequence[R]) -> builtins.list[R]:
        """Store and index new records (one or a batch embedded together, committed together)."""
        pool = self.pools.require(kind, pool_key)
        self.check_new(kind, pool_key, records)
        described = self.describe(records)
        stop_if_abandoned()  # the caller went away while the records were embedded: store nothing
        stored_ids = self.add(kind, pool_key, records, described)
        return [self.materialize(kind, stored, pool) for stored in self.store.records.load_records(stored_ids)]

    def add(
        self,
        kind: RecordKind,
        pool_key: str,
        records: Sequence[Record],
        described: Sequence[tuple[str, np.ndarray, RecordFeatures]],
    ) -> builtins.list[int]:
        """Commit described records in one transaction (all or none), then add them to the pool's index;
        returns their ids. Callers checked them first (`check_new`)."""
        rows = []
        for record, (view, embedding, features) in zip(records, described):
            created = parse_timestamp(record.created_at, "created_at") if record.created_at else now_us()
            content = self._content(_strip_server_fields(record), view, embedding, features)
            rows.append((record.key or secrets.token_hex(20), created, content))
        with self.registry.write_lock(pool_key):
            index = self._written_index(pool_key)  # inside the lock: the one a catch-up may have swapped in
            try:
                stored = self.store.records.insert_records(kind=kind.name, pool_key=pool_key, rows=rows)
            except DuplicateReference:
                raise Conflict(f"a {kind.name} with this key or reference already exists") from None
            for (record_id, revision), (_, created, content), (_, embedding, features) in zip(stored, rows, described):
                if index is not None:  # a pool not loaded here reads the write from the store when it loads
                    index.upsert(record_id, created, created, embedding, features, content.tags, revision)
        return [record_id for record_id, _ in stored]

    def edit(self, kind: RecordKind, pool_key: str, fields: dict[str, Any]) -> Record:
        """Update a record by the fields given; `key` (else `reference`) says which record."""
        try:
            identity = msgspec.convert(fields, RecordQuery)
        except msgspec.ValidationError as error:
            raise InvalidParameters.from_validation(error) from None
        key, reference = identity.key, identity.reference
        lookup = RecordLookup(key=key) if key is not None else RecordLookup(reference=reference)
        stored = self.find(kind, pool_key, lookup)
        current = msgspec.to_builtins(msgspec.json.decode(stored.body, type=kind.type))
        current.update({name: value for name, value in fields.items() if name not in SERVER_FIELDS})
        if "reference" in fields:
            current["reference"] = reference
        try:
            record: Record = msgspec.convert(current, kind.type)
        except msgspec.ValidationError as error:
            raise InvalidParameters.from_validation(error) from None
        if isinstance(record, Job) and not record.name:
            raise InvalidParameters("a job needs a `name`")
        [(view, embedding, features)] = self.describe([record])
        stop_if_abandoned()
        content = self._content(record, view, embedding, features)
        with self.registry.write_lock(pool_key):
            index = self._written_index(pool_key)
            updated = now_us()
            try:
                revision = self.store.records.update_record(stored.id, pool_key, updated, content)
            except DuplicateReference:
                raise Conflict(f"another {kind.name} of this {kind.pool} has reference {reference!r}") from None
            if index is not None:
                index.upsert(
                    stored.id,
                    stored.created_at_us,
                    updated,
                    embedding,
                    features,
                    content.tags,
                    revision,
                    alive=stored.archived_at_us is None,
                )
            if features.refusals & REFUSES_EMBEDDING:
                self.registry.discard_files(pool_key)  # files written before may still hold its vectors
        return self.get(kind, pool_key, RecordLookup(key=stored.key))

    def archive(self, kind: RecordKind, pool_key: str, lookup: RecordLookup, archive: bool) -> str:
        """Archive (or, with archive=False, restore) a record; archived records are never ranked."""
        stored = self.find(kind, pool_key, lookup)
        with self.registry.write_lock(pool_key):
            index = self._written_index(pool_key)
            archived_at = now_us() if archive else None
            revision = self.store.records.set_archived(stored.id, pool_key, archived_at, stored.body)
            if index is not None:
                index.set_alive(stored.id, not archive, now_us(), revision)
        return stored.key

    def erase(self, kind: RecordKind, pool_key: str, lookup: RecordLookup) -> tuple[str, Erasure]:
        """The right to erasure: the record goes with its vectors, features, tags, protected attributes and
        parsing jobs, its feedback stays only as anonymous events, and the pool's index is rebuilt from the
        store without it (no index file keeps it). Returns the record's key and what was removed."""
        try:
            stored = self.find(kind, pool_key, lookup)
        except NotFound:
            self.pools.require(kind, pool_key)  # an unknown pool stays HrFlow's 400
            raise Missing(f"no {kind.name} with this key or reference in the {kind.pool} (erased already?)") from None
        with self.registry.write_lock(pool_key):
            erased = self.store.records.erase_record(stored.id, pool_key)
            self.registry.forget(pool_key)
        log.info("erased a %s of %s: %s", kind.name, pool_key, erased)  # not its key: that would be a trace
        return stored.key, erased

    def describe(
        self, records: Sequence[Record], prepared: Sequence[Prepared] | None = None
    ) -> builtins.list[tuple[str, np.ndarray, RecordFeatures]]:
        """Each record's full-text view, its view vectors (len(VIEWS) x dim) and its features (`prepared`:
        computed already, by a bulk import's workers). The encoder reads at most `embed_max_chars` of each
        view, and nothing of a record whose consent withholds embedding: its vectors are zeros, never
        stored (`_content`), and its refusal bits keep it out of every ranking by similarity."""
        prepared = prepared if prepared is not None else [self.preparer(record) for record in records]
        embeddings = [np.zeros((len(VIEWS), self.encoder.dimension), dtype=np.float32) for _ in records]
        embedded = [(number, done.views) for number, done in enumerate(prepared) if done.views is not None]
        if embedded:
            vectors = embed_cut_views(self.encoder, [views for _, views in embedded])
            for (number, _), embedding in zip(embedded, vectors):
                embeddings[number] = embedding
        return [(done.full_text, embedding, done.features) for done, embedding in zip(prepared, embeddings)]

    def matching_views(self, profile: Profile, features: RecordFeatures) -> np.ndarray:
        """The profile's view vectors (len(VIEWS) x dim) as the reference a matching compares other profiles
        with: each view read to `MATCHING_HEAD_TOKENS`, where its model stores longer heads
        (`reads_matching_anchor_again`)."""
        texts = [self.preparer.capped(text) for text in view_texts(profile, features.title, features.skills_text)]
        return embed_views(self.encoder, [texts], [MATCHING_HEAD_TOKENS])[0]

    def describe_edits(
        self, original: Record, embedding: np.ndarray, features: RecordFeatures, edits: Sequence[Record]
    ) -> builtins.list[tuple[np.ndarray, RecordFeatures]]:
        """View vectors and features of edited copies of a stored record (its vectors and features given):
        features afresh, and only the views whose text an edit changed embedded again, in one encoder call
        for all the copies. A view embedded beside other texts can differ from its indexed vector in the
        last float32 digits (batch padding), no more."""
        capped = self.preparer.capped
        before = [capped(text) for text in view_texts(original, features.title, features.skills_text)]
        fresh = [self.extractor.of(edit) for edit in edits]
        changed = []
        for edit, edited in zip(edits, fresh):
            texts = [capped(text) for text in view_texts(edit, edited.title, edited.skills_text)]
            changed.append([None if text == kept else text for text, kept in zip(texts, before)])
        known = np.repeat(np.asarray(embedding, dtype=np.float32)[None], len(edits), axis=0)
        heads = [head_tokens(original, self.encoder.name)] * len(edits)
        return list(zip(embed_views(self.encoder, changed, heads, known), fresh))

    def pool_index(self, pool_key: str) -> PoolIndex:
        """The pool's index. Records the registry reports stale (stored by another model or an older
        schema) are described again, written back to the store, then added: no record is left out."""
        index = self.registry.loaded(pool_key)
        if index is not None:
            return index
        with self.registry.write_lock(pool_key):
            self.complete_facets(pool_key)
            index, stale = self.registry.open(pool_key)
            if not stale:
                return index
            return self.registry.complete(pool_key, index, self._refreshed(pool_key, stale))

    def refresh_stale(self, pool_key: str) -> int:
        """Compute again, and store, the vectors and features of the pool's records that need it (another
        model, an older schema) without loading its index: what a cluster's front end does at start, since
        the pool's shards refuse such records. Returns how many there were."""
        with self.registry.write_lock(pool_key):
            self.complete_facets(pool_key)
            rows = self.store.records.index_rows(pool_key)
            stale = [row for row in rows if not self.registry.is_current(row.model, row.embedding, row.features)]
            self._refreshed(pool_key, stale)
        return len(stale)

    def complete_facets(self, pool_key: str) -> int:
        """Store the facets of the pool's records written without them (before a release that kept them)
        or with an older version; returns how many there were. Their vectors and features stay."""
        kinds: dict[str, RecordKind] = {PROFILE.name: PROFILE, JOB.name: JOB}
        done = 0
        for batch in self.store.records.records_lacking_facets(pool_key, REFRESH_BATCH):
            log.info("describing the facets of %d records of %s", len(batch), pool_key)
            described = [
                (record_id, facets_of(msgspec.json.decode(body, type=kinds[kind].type), self.extractor, strict=False))
                for record_id, kind, body in batch
            ]
            self.store.records.replace_facets(described)
            done += len(batch)
        return done

    def _refreshed(self, pool_key: str, stale: builtins.list[IndexRow]) -> builtins.list[Described]:
        """Stale rows described again and stored, a batch at a time."""
        refreshed: builtins.list[Described] = []
        for start in range(0, len(stale), REFRESH_BATCH):
            batch = stale[start : start + REFRESH_BATCH]
            log.info("computing vectors and features of %d records of %s", len(batch), pool_key)
            computed = self.refresh(batch)
            encoded = {i: (vectors, f.encode()) for i, (vectors, f) in computed.items()}
            self.store.records.replace_embeddings(pool_key, vectors_tag(self.encoder.name), encoded)
            for row in batch:
                vectors, features = computed[row.id]
                refreshed.append((row, self.registry.views(row.embedding) if vectors is None else vectors, features))
        return refreshed

    def _written_index(self, pool_key: str) -> PoolIndex | None:
        """The index a write to the pool updates: loaded first where this process holds the pools; else
        the one loaded here, if any (the others read the write from the store when they load)."""
        return self.pool_index(pool_key) if self.holds_pools else self.registry.loaded(pool_key)

    def embedding_cuts(self, record: Record) -> dict[str, int]:
        """The views of a record longer than the encoder reads, with their lengths in characters (the
        title and skills views are always short); none for a profile the encoder never reads."""
        if isinstance(record, Profile) and not allows(record.consent_algorithmic, "embedding"):
            return {}
        views = dict(zip(("full", "experience"), long_views(record)))
        return {view: len(text) for view, text in views.items() if len(text) > self.embed_max_chars}

    def refresh(self, rows: builtins.list[IndexRow]) -> dict[int, tuple[np.ndarray | None, RecordFeatures]]:
        """Vectors and features of stored records, computed again (another model, an older schema): only
        the features where the vectors are this model's (no encoder work; vectors None: the stored stay)."""
        kinds: dict[str, RecordKind] = {PROFILE.name: PROFILE, JOB.name: JOB}
        records: builtins.list[Record] = [msgspec.json.decode(row.body, type=kinds[row.kind].type) for row in rows]
        kept = [self.registry.vectors_current(row.model, row.embedding) for row in rows]
        fresh = iter(self.describe([record for record, keep in zip(records, kept) if not keep]))
        refreshed: dict[int, tuple[np.ndarray | None, RecordFeatures]] = {}
        for row, record, keep in zip(rows, records, kept):
            if keep:
                refreshed[row.id] = (None, self.extractor.of(record))
            else:
                _, embedding, features = next(fresh)
                refreshed[row.id] = (embedding, features)
        return refreshed

    def _content(self, record: Record, view: str, embedding: np.ndarray, features: RecordFeatures) -> RecordContent:
        """What the store keeps of a record; `view` is the full text its first vector was embedded from."""
        return RecordContent(
            reference=record.reference,
            email=email_of(record),
            name=display_name(record),
            search_text=view.casefold(),
            body=msgspec.json.encode(record),
            model=vectors_tag(self.encoder.name),
            embedding=None if features.refusals & REFUSES_EMBEDDING else embedding,
            features=features.encode(),
            tags=tuple((tag.name, tag_value(tag.value)) for tag in record.tags),
            facets=facets_of(record, self.extractor),
        )

    def check_new(self, kind: RecordKind, pool_key: str, records: Sequence[Record]) -> None:
        """Refuse what could not be stored: a wrong kind, a job without a name, a key or reference in use
        or given twice (one query for the lot)."""
        for record in records:
            if not isinstance(record, kind.type):
                raise InvalidParameters(f"expected a {kind.name}")
            if kind is JOB and not record.name:
                raise InvalidParameters("a job needs a `name`")
            if isinstance(record, Job) and record.ranges_date:
                facets_of(record, self.extractor)  # refuses a date range not in ISO 8601 before any embedding
            if record.key is not None and not KEY_PATTERN.match(record.key):
                raise InvalidParameters("`key` must be 40 lowercase hexadecimal characters")
        keys = [record.key for record in records if record.key is not None]
        references = [record.reference for record in records if record.reference is not None]
        taken_keys, taken_references = self.store.records.taken(kind.name, pool_key, keys, references)
        taken_keys |= {key for key, count in Counter(keys).items() if count > 1}
        taken_references |= {reference for reference, count in Counter(references).items() if count > 1}
        for key in keys:
            if key in taken_keys:
                raise Conflict(f"a {kind.name} with key {key} already exists")
        for reference in references:
            if reference in taken_references:
                raise Conflict(f"a {kind.name} with reference {reference!r} already exists in this {kind.pool}")


def _strip_server_fields(record: Record) -> Record:
    return msgspec.structs.replace(record, id=None, archive=None, archived_at=None, created_at=None, updated_at=None)


def _summary(kind: RecordKind, record: Record) -> dict[str, Any]:
    return {
        "key": record.key,
        "reference": record.reference,
        kind.pool_key_field: getattr(record, kind.pool_key_field),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "archived_at": record.archived_at,
    }
