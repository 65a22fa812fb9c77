"""One PoolIndex (vectors + feature columns) per pool: loaded from disk when current, else rebuilt from
the store, recomputing the vectors and features of records written by another model or an older schema.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cerebro_serve.engine.views import VIEWS
from cerebro_serve.index.columns import FeatureColumns
from cerebro_serve.index.vector_index import ANN_MIN_ROWS, VectorIndex
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.store import IndexRow, SqlStore

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
    """A pool's full-text vectors and its feature columns, sharing row numbers."""

    vectors: VectorIndex
    columns: FeatureColumns

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
        revision: int,
        alive: bool = True,
    ) -> None:
        row = self.columns.upsert(record_id, created_at_us, updated_at_us, features, embedding[1:], tags, alive)
        self.vectors.set(np.array([row]), embedding[0][None, :], revision)
        self.vectors.maintain(background=True)

    def set_alive(self, record_id: int, alive: bool, updated_at_us: int, revision: int) -> None:
        self.columns.set_alive(record_id, alive, updated_at_us)
        self.vectors.revision = revision

    def save(self, path: Path) -> None:
        # Columns first: the vectors' revision file, written last, vouches for both.
        self.columns.save(path.with_suffix(".columns.npz"))
        self.vectors.save(path)

    @classmethod
    def load(cls, path: Path, dimension: int, ann_min_rows: int, accelerator: str | None = None) -> PoolIndex:
        vectors = VectorIndex.load(path, dimension, ann_min_rows, accelerator)
        columns = FeatureColumns.load(path.with_suffix(".columns.npz"), dimension)
        if len(columns) != len(vectors):
            raise ValueError(f"{path}: {len(columns)} feature rows for {len(vectors)} vectors")
        return cls(vectors, columns)


class IndexRegistry:
    def __init__(
        self,
        store: SqlStore,
        directory: Path | None,
        model: str,
        dimension: int,
        ann_min_rows: int = ANN_MIN_ROWS,
        accelerator: str | None = None,
    ) -> None:
        """`accelerator`: a device for exact search by the Triton kernel (GPU nodes); None: CPU, FAISS."""
        self.store = store
        self.accelerator = accelerator
        self.model = model
        self.dimension = dimension
        self.ann_min_rows = ann_min_rows
        self._directory = None
        if directory is not None:
            self._directory = directory / re.sub(r"[^A-Za-z0-9._-]+", "_", model)
            self._directory.mkdir(parents=True, exist_ok=True)
        self._indexes: dict[str, PoolIndex] = {}
        self._write_locks: dict[str, threading.RLock] = {}
        self._lock = threading.Lock()

    def write_lock(self, pool_key: str) -> threading.RLock:
        """Held across a store write and the matching index update, so both see writes in one order."""
        with self._lock:
            return self._write_locks.setdefault(pool_key, threading.RLock())

    def is_current(self, model: str, embedding: bytes, features: bytes | None) -> bool:
        """Whether stored vectors and features can be used as they are: this model's, all views (or none,
        where consent withholds embedding), featurised."""
        sizes = (0, len(VIEWS) * self.dimension * 4)
        return model == self.model and len(embedding) in sizes and features is not None

    def views(self, embedding: bytes) -> np.ndarray:
        """Stored view vectors (len(VIEWS) x dim); a record stored without any (its consent withholds
        embedding) has zero rows, similar to nothing, which the index's consent mask keeps out of rankings."""
        if not embedding:
            return np.zeros((len(VIEWS), self.dimension), dtype=np.float32)
        return np.frombuffer(embedding, dtype=np.float32).reshape(len(VIEWS), self.dimension)

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
            self._finish(pool_key, index)
            self._indexes[pool_key] = index
            return index

    def forget(self, pool_key: str) -> None:
        """Drop a pool's index, in memory and on disk, so the next `open` rebuilds it from the store: what
        erasing a record needs, since no index file may keep its vectors or features."""
        with self.write_lock(pool_key):
            self._indexes.pop(pool_key, None)
            self.discard_files(pool_key)

    def discard_files(self, pool_key: str) -> None:
        """Remove a pool's index files (the revision first: it vouches for the rest); the index in memory
        is written again at shutdown. After a record's vectors were withdrawn, no file keeps them."""
        if self._directory is None:
            return
        path = self._path(pool_key)
        for suffix in (".revision", ".npy", ".ivf", ".columns.npz"):
            path.with_suffix(suffix).unlink(missing_ok=True)

    def stats(self) -> list[PoolStats]:
        """The pools whose index is loaded (a pool is loaded by the first request that needs it)."""
        return [
            PoolStats(pool_key, len(index.vectors), index.vectors.approximate, index.vectors.ann_builds)
            for pool_key, index in list(self._indexes.items())
        ]

    def save_all(self) -> None:
        if self._directory is None:
            return
        for pool_key, index in list(self._indexes.items()):
            with self.write_lock(pool_key):
                index.save(self._path(pool_key))

    def _path(self, pool_key: str) -> Path:
        assert self._directory is not None
        return self._directory / f"{pool_key}.vectors"

    def _load_or_rebuild(self, pool_key: str) -> tuple[PoolIndex, list[IndexRow]]:
        revision = self.store.pools.pool_revision(pool_key)
        if self._directory is not None and self._path(pool_key).with_suffix(".revision").exists():
            try:
                index = PoolIndex.load(self._path(pool_key), self.dimension, self.ann_min_rows, self.accelerator)
            except (OSError, RuntimeError, ValueError, KeyError) as error:
                log.warning("index of %s unreadable (%s): rebuilding from the store", pool_key, error)
            else:
                if index.revision == revision:
                    return index, []
                log.info("index of %s is stale (revision %s, store %s): rebuilding", pool_key, index.revision, revision)
        return self._rebuild(pool_key)

    def _rebuild(self, pool_key: str) -> tuple[PoolIndex, list[IndexRow]]:
        # No ANN while loading: it is built once, over every row, at the end (`_finish`).
        index = PoolIndex(
            VectorIndex(self.dimension, ann_min_rows=2**62, accelerator=self.accelerator),
            FeatureColumns(self.dimension),
        )
        current: list[Described] = []
        stale: list[IndexRow] = []
        for row in self.store.records.index_rows(pool_key):
            if row.features is None or not self.is_current(row.model, row.embedding, row.features):
                stale.append(row)
                continue
            current.append((row, self.views(row.embedding), RecordFeatures.decode(row.features)))
            if len(current) == APPEND_BATCH:
                _append(index, current)
                current = []
        _append(index, current)
        if not stale:
            self._finish(pool_key, index)
        return index, stale

    def _finish(self, pool_key: str, index: PoolIndex) -> None:
        """Every stored row is in: name the store's revision, build the ANN where the pool needs one, and
        write the files."""
        index.vectors.revision = self.store.pools.pool_revision(pool_key)
        index.vectors.ann_min_rows = self.ann_min_rows
        index.vectors.maintain()
        if self._directory is not None:
            index.save(self._path(pool_key))


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
