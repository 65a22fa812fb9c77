"""Inner-product search over one pool's unit vectors, by row, exact while small and IVF when large.

The fp32 matrix (one row per record, the same rows as the pool's FeatureColumns) is the truth: exact
search is one BLAS product over it, and it refines the approximate stage. Once a pool holds more than
`ann_min_rows` vectors an IVF index with 8-bit scalar quantisation (FAISS) answers the first stage; the
caller's filters travel into it as a row bitmap (FAISS IDSelectorBitmap), so they never starve the
top-k, and a filter that leaves few rows is searched exactly instead.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from cerebro_serve.index.accelerated_search import AcceleratedSearch
from cerebro_serve.index.snapshots import headroom, load_array, save_array
from cerebro_serve.index.topk import topk
from cerebro_serve.native_threads import all_cores

ANN_MIN_ROWS = 50_000
# A filter that leaves at most this many rows is searched exactly (gathering them costs less than the
# IVF probes, and the probes could not fill a deep candidate list from so few rows).
EXACT_SUBSET_MAX_ROWS = 20_000
# IVF probes: top-10 recall after re-ranking ~0.98 against exact search at 100k and 1M rows
# (bench/RESULTS.md, "Scoring at scale").
DEFAULT_NPROBE = 64
# Lists per IVF, times sqrt(rows): twice FAISS's floor, so the 64 probes scan half as many vectors
# (candidates in 2.0 against 4.0 ms at 1M) for the same candidates (bench/RESULTS.md, "The 1M pool
# over HTTP").
LISTS_PER_SQRT_ROW = 2
MAX_LISTS = 16_384


def ivf_lists(rows: int) -> int:
    """Inverted lists for an IVF over this many rows (at least 64: small pools still split)."""
    return int(min(max(LISTS_PER_SQRT_ROW * math.sqrt(rows), 64), MAX_LISTS))


@dataclass(frozen=True, slots=True)
class SearchResult:
    rows: np.ndarray  # int64, best first
    similarities: np.ndarray  # float32, exact inner products
    approximate: bool


def _rescored(matrix: np.ndarray, rows: np.ndarray, query: np.ndarray, k: int, approximate: bool) -> SearchResult:
    """Candidates found in reduced precision (8-bit IVF, fp16 kernel), scored and ordered in fp32, so
    every path reports the same similarities."""
    sims = matrix[rows] @ query
    order = np.lexsort((rows, -sims))[:k]
    return SearchResult(rows[order], sims[order].astype(np.float32), approximate)


class VectorIndex:
    def __init__(
        self,
        dimension: int,
        revision: int = 0,
        ann_min_rows: int = ANN_MIN_ROWS,
        nprobe: int = DEFAULT_NPROBE,
        accelerator: str | None = None,
        exact_subset_max_rows: int = EXACT_SUBSET_MAX_ROWS,
    ) -> None:
        """`accelerator` ("cuda", or "cpu" under the Triton interpreter): exact search by the Triton
        kernel on that device, for every pool size (no IVF), concurrent searches batched into one launch."""
        self.dimension = dimension
        self.revision = revision
        self.ann_min_rows = ann_min_rows
        self.exact_subset_max_rows = exact_subset_max_rows
        self.nprobe = nprobe
        self.rows = 0
        self.matrix = np.zeros((1024, dimension), dtype=np.float32)
        self._ann: faiss.Index | None = None
        self._ann_trained_rows = 0
        self.ann_builds = 0  # IVF indexes built and swapped in (monitoring reads it)
        self._accelerated = AcceleratedSearch(dimension, accelerator) if accelerator else None
        # Writers take turns with each other; readers and the IVF build take snapshots under the lock.
        self._lock = threading.Lock()
        # While an IVF is being built outside the lock: the rows written since its snapshot (None: no build).
        self._written_during_build: set[int] | None = None

    def __len__(self) -> int:
        return self.rows

    @property
    def approximate(self) -> bool:
        return self._ann is not None

    def set(self, rows: np.ndarray, vectors: np.ndarray, revision: int | None = None) -> None:
        """Write vectors at rows; a row equal to the current size appends."""
        rows = np.ascontiguousarray(rows, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(rows), self.dimension)
        with self._lock:
            before = self.rows
            top = int(rows.max()) + 1 if len(rows) else 0
            if top > len(self.matrix):
                self._grow(top)
            self.matrix[rows] = vectors
            self.rows = max(before, top)
            if self._written_during_build is not None:
                self._written_during_build.update(rows.tolist())
            if self._accelerated is not None:
                self._accelerated.set(rows, vectors)
            if self._ann is not None:
                replaced = np.ascontiguousarray(rows[rows < before])
                if len(replaced):
                    self._ann.remove_ids(faiss.IDSelectorArray(len(replaced), faiss.swig_ptr(replaced)))
                self._ann.add_with_ids(vectors, rows)
            if revision is not None:
                self.revision = revision

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> SearchResult:
        """The k rows most similar to the query among those the mask allows (all rows when None)."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(self.dimension)
        with self._lock:
            n, matrix, ann = self.rows, self.matrix, self._ann
        if mask is not None:
            # A mask from columns read before a concurrent append is shorter: its rows are the ones searched.
            n = min(n, len(mask))
            mask = np.ascontiguousarray(mask[:n], dtype=bool)
        allowed = n if mask is None else int(np.count_nonzero(mask))
        if allowed == n:
            mask = None  # it allows every row: no bitmap to build, and FAISS scans without a per-row test
        if k <= 0 or allowed == 0:
            return SearchResult(np.empty(0, np.int64), np.empty(0, np.float32), False)
        if self._accelerated is not None:
            return _rescored(matrix, self._accelerated.search(query, n, k, mask), query, k, approximate=False)
        if ann is None or allowed <= self.exact_subset_max_rows or k >= allowed:
            return self._exact(matrix, n, query, k, mask, allowed)
        found = self._approximate(ann, matrix, n, query, k, mask)
        if len(found.rows) < k:  # a selective filter starved the probed lists: answer exactly instead
            return self._exact(matrix, n, query, k, mask, allowed)
        return found

    def similarities(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products of the query with the vectors at these rows."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(self.dimension)
        with self._lock:
            matrix = self.matrix
        return matrix[np.asarray(rows, dtype=np.int64)] @ query

    def vector(self, row: int) -> np.ndarray:
        with self._lock:
            return self.matrix[row].copy()

    # -- stages ------------------------------------------------------------------------------------

    @staticmethod
    def _exact(
        matrix: np.ndarray, n: int, query: np.ndarray, k: int, mask: np.ndarray | None, allowed: int
    ) -> SearchResult:
        if mask is not None and allowed < n // 4:
            # A selective filter: gather the few allowed rows rather than scoring the whole pool.
            subset = np.flatnonzero(mask)
            sims = matrix[subset] @ query
            positions, best = topk(sims, k)
            return SearchResult(subset[positions], best, False)
        sims = matrix[:n] @ query
        positions, best = topk(sims, k, mask)
        return SearchResult(positions.astype(np.int64), best, False)

    def _approximate(
        self, ann: faiss.Index, matrix: np.ndarray, n: int, query: np.ndarray, k: int, mask: np.ndarray | None
    ) -> SearchResult:
        params = faiss.SearchParametersIVF(nprobe=self.nprobe)  # type: ignore[call-arg]  # SWIG takes fields as keywords
        if mask is not None:
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
            params.sel = selector
        # Twice the candidates, re-scored exactly: 8-bit distances only choose, they never rank.
        _, found = ann.search(query[None, :], 2 * k, params=params)
        return _rescored(matrix, found[0][(found[0] >= 0) & (found[0] < n)], query, k, approximate=True)

    # -- ANN maintenance ---------------------------------------------------------------------------

    def maintain(self, background: bool = False) -> threading.Thread | None:
        """Build the IVF index when the pool outgrows exact search, and retrain it when it has grown 4x.
        Called after writes. `background`: build on a thread of its own (returned), so the write that
        crosses a threshold does not wait seconds (a minute at 1M rows) for it; searches meanwhile go
        exact or to the previous IVF."""
        if self._accelerated is not None or self.rows < self.ann_min_rows:
            return None
        if self._ann is not None and self.rows < 4 * self._ann_trained_rows:
            return None
        with self._lock:
            if self._written_during_build is not None:  # a build is already under way
                return None
            self._written_during_build = set()
        if not background:
            self._build_ann()
            return None
        thread = threading.Thread(target=self._build_ann, name="ivf-build", daemon=True)
        thread.start()
        return thread

    def _build_ann(self) -> None:
        """Train and fill an IVF from the rows as they were when maintain() started, outside the lock;
        then, under it, re-add every row written since, and swap the new index in."""
        threads = faiss.omp_get_max_threads()
        try:
            with self._lock:
                n, matrix = self.rows, self.matrix
            data = matrix[:n]  # rows rewritten meanwhile may be read torn: they are re-added below
            nlist = ivf_lists(n)
            faiss.omp_set_num_threads(all_cores())  # this thread's calls only: requests keep one each
            quantizer = faiss.IndexFlatIP(self.dimension)
            ann = faiss.IndexIVFScalarQuantizer(
                quantizer, self.dimension, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            sample = data[np.random.default_rng(0).choice(n, size=min(n, 64 * nlist), replace=False)]
            ann.train(sample)
            ann.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # SWIG enum, unstubbed
            ann.add_with_ids(data, np.arange(n, dtype=np.int64))
            with self._lock:
                late = np.array(sorted(self._written_during_build or ()), dtype=np.int64)
                rewritten = np.ascontiguousarray(late[late < n])
                if len(rewritten):
                    ann.remove_ids(faiss.IDSelectorArray(len(rewritten), faiss.swig_ptr(rewritten)))
                if len(late):
                    ann.add_with_ids(self.matrix[late], late)
                self._ann, self._ann_trained_rows = ann, n
                self.ann_builds += 1
        finally:
            faiss.omp_set_num_threads(threads)  # a build may run on a request's thread
            with self._lock:
                self._written_during_build = None

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * len(self.matrix))
        matrix = np.zeros((capacity, self.dimension), dtype=np.float32)
        matrix[: self.rows] = self.matrix[: self.rows]
        self.matrix = matrix

    def clear(self, row: int) -> None:
        """Zero a row and take it out of the IVF: an erased record, similar to nothing from now on."""
        with self._lock:
            self.matrix[row] = 0.0
            if self._accelerated is not None:
                self._accelerated.set(np.array([row]), self.matrix[row][None, :])
            if self._ann is not None:
                gone = np.array([row], dtype=np.int64)
                self._ann.remove_ids(faiss.IDSelectorArray(1, faiss.swig_ptr(gone)))
            if self._written_during_build is not None:
                self._written_during_build.add(row)

    # -- persistence -------------------------------------------------------------------------------

    def save(self, directory: Path) -> dict[str, int]:
        """Write the rows (with room to grow) and the IVF into a generation's directory; returns what its
        meta must record. Callers keep other writers out (the registry's write lock), so the rows are read
        outside this index's lock and searches go on meanwhile; the IVF is written under it."""
        with self._lock:
            n, matrix = self.rows, self.matrix
        save_array(directory / "vectors.npy", matrix[:n], headroom(n))
        with self._lock:
            if self._ann is not None:
                faiss.write_index(self._ann, str(directory / "ann.ivf"))
            return {"rows": n, "ann_trained_rows": self._ann_trained_rows if self._ann is not None else 0}

    @classmethod
    def load(
        cls,
        directory: Path,
        meta: dict[str, int],
        dimension: int,
        ann_min_rows: int = ANN_MIN_ROWS,
        accelerator: str | None = None,
    ) -> VectorIndex:
        """A saved generation's rows, memory-mapped (shared with every process that maps them), and its IVF."""
        matrix = load_array(directory / "vectors.npy")
        n = meta["rows"]
        if matrix.ndim != 2 or matrix.shape[1] != dimension or len(matrix) < n:
            raise ValueError(f"{directory} holds vectors of another shape: {matrix.shape}")
        index = cls(dimension, revision=meta["revision"], ann_min_rows=ann_min_rows, accelerator=accelerator)
        index.matrix, index.rows = matrix, n
        if index._accelerated is not None:
            index._accelerated.set(np.arange(n), matrix[:n])
        if meta["ann_trained_rows"] and index._accelerated is None:
            index._ann = faiss.read_index(str(directory / "ann.ivf"))
            index._ann_trained_rows = meta["ann_trained_rows"]
        return index
