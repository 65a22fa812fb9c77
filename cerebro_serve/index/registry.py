"""One VectorIndex per pool: loaded from disk when it is current, rebuilt from the store when it is not."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cerebro_serve.index.vector_index import VectorIndex
from cerebro_serve.store import SqlStore

log = logging.getLogger(__name__)

# Called with (pool key, record ids) when stored vectors come from another model than the current one.
Reembed = Callable[[str, list[int]], dict[int, np.ndarray]]


class IndexRegistry:
    def __init__(
        self, store: SqlStore, directory: Path | None, model: str, dimension: int, reembed: Reembed
    ) -> None:
        self.store = store
        self.model = model
        self.dimension = dimension
        self._reembed = reembed
        self._directory = None
        if directory is not None:
            self._directory = directory / re.sub(r"[^A-Za-z0-9._-]+", "_", model)
            self._directory.mkdir(parents=True, exist_ok=True)
        self._indexes: dict[str, VectorIndex] = {}
        self._write_locks: dict[str, threading.RLock] = {}
        self._lock = threading.Lock()

    def write_lock(self, pool_key: str) -> threading.RLock:
        """Held across a store write and the matching index update, so both see writes in one order."""
        with self._lock:
            return self._write_locks.setdefault(pool_key, threading.RLock())

    def get(self, pool_key: str) -> VectorIndex:
        with self.write_lock(pool_key):
            index = self._indexes.get(pool_key)
            if index is None:
                index = self._load_or_rebuild(pool_key)
                self._indexes[pool_key] = index
            return index

    def save_all(self) -> None:
        if self._directory is None:
            return
        for pool_key, index in list(self._indexes.items()):
            with self.write_lock(pool_key):
                index.save(self._path(pool_key))

    def _path(self, pool_key: str) -> Path:
        assert self._directory is not None
        return self._directory / f"{pool_key}.faiss"

    def _load_or_rebuild(self, pool_key: str) -> VectorIndex:
        revision = self.store.pool_revision(pool_key)
        if self._directory is not None and self._path(pool_key).exists():
            try:
                index = VectorIndex.load(self._path(pool_key))
            except (OSError, RuntimeError, ValueError) as error:
                log.warning("index of %s unreadable (%s): rebuilding from the store", pool_key, error)
            else:
                if index.revision == revision and index.dimension == self.dimension:
                    return index
                log.info("index of %s is stale (revision %s, store %s): rebuilding", pool_key, index.revision, revision)
        return self._rebuild(pool_key)

    def _rebuild(self, pool_key: str) -> VectorIndex:
        ids, models, blobs = self.store.live_embeddings(pool_key)
        stale = [int(i) for i, model in zip(ids, models) if model != self.model]
        if stale:
            log.info("re-embedding %d records of %s with %s", len(stale), pool_key, self.model)
            self.store.replace_embeddings(pool_key, self.model, self._reembed(pool_key, stale))
            ids, models, blobs = self.store.live_embeddings(pool_key)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), self.dimension)
        index = VectorIndex(self.dimension, revision=self.store.pool_revision(pool_key))
        if len(ids):
            index.add(ids, vectors)
        if self._directory is not None:
            index.save(self._path(pool_key))
        return index
