"""Exact inner-product search over one pool's unit vectors, kept in a FAISS flat index.

FAISS holds the vectors (adds, removals by id, persistence); similarities for every row are one BLAS
matrix-vector product over FAISS's own buffer, so the caller can mask and select the top-k natively.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dimension: int, revision: int = 0) -> None:
        self.dimension = dimension
        self.revision = revision
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        # FAISS may reallocate its buffer on add: readers and writers take turns.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray, revision: int | None = None) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dimension)
        with self._lock:
            self._index.remove_ids(ids)
            self._index.add_with_ids(vectors, ids)
            if revision is not None:
                self.revision = revision

    def remove(self, ids: np.ndarray, revision: int | None = None) -> None:
        with self._lock:
            self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))
            if revision is not None:
                self.revision = revision

    def similarities(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, inner products with the query) for every vector, in storage order."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(self.dimension)
        with self._lock:
            n = int(self._index.ntotal)
            if n == 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            flat = faiss.downcast_index(self._index.index)
            matrix = faiss.rev_swig_ptr(flat.get_xb(), n * self.dimension).reshape(n, self.dimension)
            sims = matrix @ query
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)
        return ids, sims

    def save(self, path: Path) -> None:
        """Write atomically: a crash mid-write leaves the previous file, which the revision check catches."""
        temporary = path.with_suffix(path.suffix + ".tmp")
        with self._lock:
            faiss.write_index(self._index, str(temporary))
            revision = self.revision
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        path.with_suffix(".revision").write_text(str(revision))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        index = faiss.read_index(str(path))
        if not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"{path} does not hold an id-mapped index")
        loaded = cls(index.d, revision=int(path.with_suffix(".revision").read_text()))
        loaded._index = index  # keep the owning wrapper: a downcast copy would not own the C++ object
        return loaded
