"""One PoolIndex (vectors + feature columns) per pool: loaded from disk when current, else rebuilt from
the store, recomputing the vectors and features of records written by another model or an older schema.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cerebro_serve.engine.views import VIEWS
from cerebro_serve.index import snapshots
from cerebro_serve.index.columns import FeatureColumns
from cerebro_serve.index.shards import Shard
from cerebro_serve.index.snapshots import Generation
from cerebro_serve.index.vector_index import ANN_MIN_ROWS, VectorIndex
from cerebro_serve.process_locks import try_lock
from cerebro_serve.record_features import RecordFeatures, is_current_schema
from cerebro_serve.store import IndexRow, SqlStore
from cerebro_serve.store.sharding import HASH

log = logging.getLogger(__name__)

APPEND_BATCH = 4096
# A row of an index being built: the stored row, its view vectors (len(VIEWS) x dim) and its features.
Described = tuple[IndexRow, np.ndarray, RecordFeatures]


@dataclass(frozen=True, slots=True)
class PoolStats:
    """What monitoring reads of a loaded pool's index."""

    pool_key: str
    vectors: int
    approximate: bool  # an IVF answers the first stage of searches
    ann_builds: int  # IVF builds of this index since it was loaded or rebuilt


@dataclass
class PoolIndex:
    """A pool's full-text vectors and its feature columns, sharing row numbers.

    `revision` is the pool revision up to which every write is applied: a write this process makes
    advances it only when it comes right after (none from elsewhere in between); the others are caught
    up from the store (`IndexRegistry.catch_up`). `generation`: the published files it was mapped from."""

    vectors: VectorIndex
    columns: FeatureColumns
    generation: int | None = None  # the published generation's revision, None when built in memory

    @property
    def revision(self) -> int:
        return self.vectors.revision

    def upsert(
        self,
        record_id: int,
        created_at_us: int,
        updated_at_us: int,
        embedding: np.ndarray,
        features: RecordFeatures,
        tags: tuple[tuple[str, str | None], ...],
        revision: int | None,
        alive: bool = True,
    ) -> None:
        row = self.columns.upsert(record_id, created_at_us, updated_at_us, features, embedding[1:], tags, alive)
        self.vectors.set(np.array([row]), embedding[0][None, :])
        self._advance(revision)
        self.vectors.maintain(background=True)

    def set_alive(self, record_id: int, alive: bool, updated_at_us: int, revision: int) -> None:
        self.columns.set_alive(record_id, alive, updated_at_us)
        self._advance(revision)

    def clear(self, record_id: int) -> None:
        """An erased record: its row dead and emptied, its vector zero (no copy of it stays in memory)."""
        row = self.columns.row_of(record_id)
        if row is not None:
            self.columns.clear(record_id)
            self.vectors.clear(row)

    def _advance(self, revision: int | None) -> None:
        if revision is not None and revision == self.vectors.revision + 1:
            self.vectors.revision = revision

    def save(self, pool_dir: Path) -> Generation:
        """Publish the index as a new generation of files (callers keep writers out meanwhile)."""
        meta: dict[str, int] = {"revision": self.revision}

        def write(directory: Path) -> None:
            meta.update(self.vectors.save(directory))
            meta.update({f"columns_{name}": count for name, count in self.columns.save(directory / "columns").items()})

        return snapshots.publish(pool_dir, meta, write)

    @classmethod
    def load(
        cls, generation: Generation, dimension: int, ann_min_rows: int, accelerator: str | None = None
    ) -> PoolIndex:
        meta = generation.meta
        vectors = VectorIndex.load(generation.directory, meta, dimension, ann_min_rows, accelerator)
        counts = {name.removeprefix("columns_"): value for name, value in meta.items() if name.startswith("columns_")}
        columns = FeatureColumns.load(generation.directory / "columns", dimension, counts)
        if len(columns) != len(vectors):
            raise ValueError(f"{generation.directory}: {len(columns)} feature rows for {len(vectors)} vectors")
        return cls(vectors, columns, generation.revision)


def model_directory(directory: Path, model: str) -> Path:
    """Where the index files of vectors labelled `model` live under an index directory."""
    return directory / re.sub(r"[^A-Za-z0-9._-]+", "_", model)


def pool_directory_name(pool_key: str, shard: Shard | None) -> str:
    """The directory of a pool's index files (of one shard's part of it). A shard's names the hash that
    chose its records: files of another hash hold other records."""
    return pool_key if shard is None else f"{pool_key}.{shard.name()}.{HASH}"


class IndexRegistry:
    def __init__(
        self,
        store: SqlStore,
        directory: Path | None,
        model: str,
        dimension: int,
        ann_min_rows: int = ANN_MIN_ROWS,
        accelerator: str | None = None,
        shard: Shard | None = None,
    ) -> None:
        """`accelerator`: a device for exact search by the Triton kernel (GPU nodes); None: CPU, FAISS.
        `directory`: where generations of index files are published and mapped from (None: memory only).
        `shard`: index only that shard's records of each pool (a cluster's shard); None: every record."""
        self.store = store
        self.accelerator = accelerator
        self.shard = shard
        self.model = model
        self.dimension = dimension
        self.ann_min_rows = ann_min_rows
        self._directory = None
        if directory is not None:
            self._directory = model_directory(directory, model)
            self._directory.mkdir(parents=True, exist_ok=True)
        self._indexes: dict[str, PoolIndex] = {}
        self._write_locks: dict[str, threading.RLock] = {}
        self._lock = threading.Lock()
        self._writer: int | None = None  # the lock file held while this process publishes generations
        self._erased_since_saved: set[str] = set()
        self.is_writer()  # the first process to open the directory publishes its files

    def write_lock(self, pool_key: str) -> threading.RLock:
        """Held across a store write and the matching index update, so both see writes in one order."""
        with self._lock:
            return self._write_locks.setdefault(pool_key, threading.RLock())

    def is_current(self, model: str, embedding: bytes, features: bytes | None) -> bool:
        """Whether stored vectors and features can be used as they are: this model's, all views (or none,
        where consent withholds embedding), featurised by this release's extraction."""
        return self.vectors_current(model, embedding) and features is not None and is_current_schema(features)

    def vectors_current(self, model: str, embedding: bytes) -> bool:
        """Whether stored vectors are this model's, all views (or none, where consent withholds embedding)."""
        return model == self.model and len(embedding) in (0, len(VIEWS) * self.dimension * 4)

    def views(self, embedding: bytes) -> np.ndarray:
        """Stored view vectors (len(VIEWS) x dim); a record stored without any (its consent withholds
        embedding) has zero rows, similar to nothing, which the index's consent mask keeps out of rankings."""
        if not embedding:
            return np.zeros((len(VIEWS), self.dimension), dtype=np.float32)
        return np.frombuffer(embedding, dtype=np.float32).reshape(len(VIEWS), self.dimension)

    def loaded(self, pool_key: str) -> PoolIndex | None:
        """The pool's index if it is ready in memory (no lock: what every read asks first)."""
        return self._indexes.get(pool_key)

    def open(self, pool_key: str) -> tuple[PoolIndex, list[IndexRow]]:
        """The pool's index, and the stored rows it lacks because their vectors or features are out of
        date (another model, an older schema). With none, the index is ready and kept for the next call;
        otherwise the caller computes those rows, stores them, and hands them to `complete`. Callers hold
        `write_lock(pool_key)` from here to `complete`, so no one else sees the index half-built."""
        with self.write_lock(pool_key):
            index = self._indexes.get(pool_key)
            if index is not None:
                return index, []
            index, stale = self._load_or_rebuild(pool_key)
            if not stale:
                self._indexes[pool_key] = index
            return index, stale

    def complete(self, pool_key: str, index: PoolIndex, refreshed: list[Described]) -> PoolIndex:
        """Add the rows `open` reported stale, now recomputed and stored; then the index is ready."""
        with self.write_lock(pool_key):
            _append(index, refreshed)
            index = self._finish(pool_key, index)
            self._indexes[pool_key] = index
            return index

    def forget(self, pool_key: str) -> None:
        """Drop a pool's index, in memory and on disk, so the next `open` rebuilds it from the store: what
        erasing a record needs, since no index file may keep its vectors or features."""
        with self.write_lock(pool_key):
            self._indexes.pop(pool_key, None)
            self.discard_files(pool_key)

    def discard_files(self, pool_key: str) -> None:
        """Remove a pool's index files; the index in memory is published again by the next snapshot.
        After a record's vectors were withdrawn, no file keeps them (processes that mapped them keep the
        pages until they map a newer generation, and clear the record's row when they catch up)."""
        if self._directory is None:
            return
        snapshots.discard(self._pool_dir(pool_key))
        self._erased_since_saved.add(pool_key)

    def catch_up(self, pool_key: str) -> None:
        """Apply the pool's writes made by other processes since the index's revision (and map a newer
        generation of files if one was published), when the pool is loaded here. A write from another
        model or schema (records that need recomputing) makes this process drop the index, so the next
        `open` rebuilds it."""
        index = self._indexes.get(pool_key)
        if index is None:
            return
        published = self._published(pool_key)
        if published is not None and (index.generation is None or published.revision > index.generation):
            self._remap(pool_key, published)
            return
        with self.write_lock(pool_key):
            if self._indexes.get(pool_key) is index and not self._apply(pool_key, index):
                self._indexes.pop(pool_key, None)

    def snapshot_due(self, pool_key: str, min_changes: int) -> bool:
        """Whether this process should publish the pool's index now: it is the writer, and the files lag
        the index by `min_changes` revisions, or were discarded (an erasure) while the index lives on."""
        index = self._indexes.get(pool_key)
        if index is None or self._directory is None or not self.is_writer():
            return False
        published = self._published(pool_key)
        if published is None or pool_key in self._erased_since_saved:
            return True
        return index.revision - published.revision >= min_changes

    def snapshot(self, pool_key: str) -> None:
        """Publish the pool's index as a new generation, then serve from the files (shared) again."""
        generation = self._publish(pool_key)
        if generation is not None:
            self._remap(pool_key, generation)

    def is_writer(self) -> bool:
        """Whether this process publishes index files: the first to take the lock file of the index
        directory (one per data dir); another takes over when that process is gone."""
        if self._directory is None:
            return False
        if self._writer is None:
            self._writer = try_lock(self._directory / "writer.lock")
        return self._writer is not None

    def stats(self) -> list[PoolStats]:
        """The pools whose index is loaded (a pool is loaded by the first request that needs it)."""
        return [
            PoolStats(pool_key, len(index.vectors), index.vectors.approximate, index.vectors.ann_builds)
            for pool_key, index in list(self._indexes.items())
        ]

    def pools(self) -> list[str]:
        return list(self._indexes)

    def save_all(self) -> None:
        """At shutdown: the writer publishes every pool whose files lag its index."""
        if self._directory is None or not self.is_writer():
            return
        for pool_key in self.pools():
            if self.snapshot_due(pool_key, 1):
                self._publish(pool_key)

    def close(self) -> None:
        if self._writer is not None:
            os.close(self._writer)  # releases the lock
            self._writer = None

    def _pool_dir(self, pool_key: str) -> Path:
        assert self._directory is not None
        return self._directory / pool_directory_name(pool_key, self.shard)

    @property
    def _shard_of_store(self) -> tuple[int, int] | None:
        """The shard the store's reads keep to (None: the whole pool)."""
        return None if self.shard is None else (self.shard.number, self.shard.count)

    def _published(self, pool_key: str) -> Generation | None:
        return snapshots.current(self._pool_dir(pool_key)) if self._directory is not None else None

    def _publish(self, pool_key: str) -> Generation | None:
        """Write the loaded index of the pool as a new generation (writers wait meanwhile)."""
        with self.write_lock(pool_key):
            index = self._indexes.get(pool_key)
            if index is None or self._directory is None:
                return None
            self._erased_since_saved.discard(pool_key)
            return index.save(self._pool_dir(pool_key))

    def _remap(self, pool_key: str, generation: Generation) -> None:
        """Serve the pool from a published generation: map it and catch it up outside the lock (seconds
        for a large pool), then once more under it, and swap it in."""
        fresh = self._mapped(pool_key, generation)
        if fresh is None:
            return
        with self.write_lock(pool_key):
            if self._apply(pool_key, fresh):
                self._indexes[pool_key] = fresh

    def _mapped(self, pool_key: str, generation: Generation) -> PoolIndex | None:
        """A generation's files, mapped and caught up with the store; None when they cannot be read or a
        record written since needs recomputing."""
        try:
            index = PoolIndex.load(generation, self.dimension, self.ann_min_rows, self.accelerator)
        except (OSError, RuntimeError, ValueError, KeyError) as error:
            log.warning("index files %s of %s unreadable (%s)", generation.directory.name, pool_key, error)
            return None
        return index if self._apply(pool_key, index) else None

    def _apply(self, pool_key: str, index: PoolIndex) -> bool:
        """Apply the store's writes after the index's revision; False if one needs recomputing."""
        reached = self.store.pools.pool_revision(pool_key)  # first: the changes read next include it
        if reached <= index.revision:
            return True
        changes = self.store.records.changes_since(pool_key, index.revision, self._shard_of_store)
        current: list[Described] = []
        for row in changes.written:
            if row.features is None or not self.is_current(row.model, row.embedding, row.features):
                return False
            current.append((row, self.views(row.embedding), RecordFeatures.decode(row.features)))
        for row, views, features in current:
            index.upsert(
                row.id, row.created_at_us, row.updated_at_us, views, features, row.tags, None, not row.archived
            )
        for record_id in changes.erased:
            index.clear(record_id)  # a no-op for a record this index does not hold (another shard's)
        if changes.erased:  # files published before may hold those records' vectors: publish again
            self._erased_since_saved.add(pool_key)
        index.vectors.revision = max(index.revision, reached)
        return True

    def _load_or_rebuild(self, pool_key: str) -> tuple[PoolIndex, list[IndexRow]]:
        revision = self.store.pools.pool_revision(pool_key)
        published = self._published(pool_key)
        if published is not None and published.revision <= revision:
            index = self._mapped(pool_key, published)
            if index is not None:
                return index, []
            log.info("index of %s: rebuilding from the store", pool_key)
        return self._rebuild(pool_key)

    def _rebuild(self, pool_key: str) -> tuple[PoolIndex, list[IndexRow]]:
        # No ANN while loading: it is built once, over every row, at the end (`_finish`).
        index = PoolIndex(
            VectorIndex(self.dimension, ann_min_rows=2**62, accelerator=self.accelerator),
            FeatureColumns(self.dimension),
        )
        current: list[Described] = []
        stale: list[IndexRow] = []
        revision = self.store.pools.pool_revision(pool_key)  # read first: later writes are caught up
        for row in self.store.records.index_rows(pool_key, shard=self._shard_of_store):
            if row.features is None or not self.is_current(row.model, row.embedding, row.features):
                stale.append(row)
                continue
            current.append((row, self.views(row.embedding), RecordFeatures.decode(row.features)))
            if len(current) == APPEND_BATCH:
                _append(index, current)
                current = []
        _append(index, current)
        index.vectors.revision = revision
        if not stale:
            index = self._finish(pool_key, index)
        return index, stale

    def _finish(self, pool_key: str, index: PoolIndex) -> PoolIndex:
        """Every stored row is in: build the ANN where the pool needs one, and publish the files (then
        serve from them, shared with the other processes, when this process is the writer)."""
        self._apply(pool_key, index)  # rows refreshed meanwhile (`complete`) bring the revision forward
        index.vectors.ann_min_rows = self.ann_min_rows
        index.vectors.maintain()
        if self._directory is None or not self.is_writer():
            return index
        mapped = self._mapped(pool_key, index.save(self._pool_dir(pool_key)))
        return mapped if mapped is not None else index


def _append(index: PoolIndex, batch: list[Described]) -> None:
    if not batch:
        return
    embeddings = np.stack([embedding for _, embedding, _ in batch])
    rows = index.columns.append(
        np.array([row.id for row, _, _ in batch], dtype=np.int64),
        np.array([row.created_at_us for row, _, _ in batch], dtype=np.int64),
        np.array([row.updated_at_us for row, _, _ in batch], dtype=np.int64),
        [features for _, _, features in batch],
        embeddings[:, 1:],
        [row.tags for row, _, _ in batch],
        np.array([not row.archived for row, _, _ in batch]),
    )
    index.vectors.set(rows, embeddings[:, 0])
