"""A pool's features as columns (one numpy array per feature, one row per record), for the re-ranker.

Rows are assigned once per record and kept on edits; archiving clears the row's `alive` bit, so filters
and deletes are masks over rows rather than rebuilds. Arrays grow by doubling; a reader takes a
`snapshot()` (references to the current arrays) and may use it while a writer grows them.
The views other than the full text (title, skills, experience) are stored as int8 with one scale per row
(cosine fidelity ~0.999 to fp32); an empty view is an all-zero vector and gets scale 0.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

from cerebro_serve import _native
from cerebro_serve.engine.views import VIEWS
from cerebro_serve.index.snapshots import headroom, load_array, save_array
from cerebro_serve.record_features import RecordFeatures

TERM_BUCKETS = int(_native.TERM_BUCKETS)
SIDE_VIEWS = VIEWS[1:]  # the full-text vector lives in the vector index, these here
assert SIDE_VIEWS == tuple(_native.SIDE_VIEWS)

_ROW_COLUMNS = {
    "record_ids": np.int64,
    "alive": np.bool_,
    "created_at_us": np.int64,
    "updated_at_us": np.int64,
    **{f"{view}_scale": np.float32 for view in SIDE_VIEWS},
    "skill_start": np.int64,
    "skill_count": np.int32,
    "term_start": np.int64,
    "term_count": np.int32,
    "term_length": np.float32,
    "years": np.float32,
    "education": np.int8,
    "languages": np.int64,
    "lat": np.float32,
    "lng": np.float32,
    "refusals": np.int8,  # consent refusals (record_features.py REFUSES_*)
}


@dataclass(frozen=True, slots=True)
class ColumnArrays:
    """The arrays as they were at one moment: what a search and the native re-ranker read."""

    rows: int
    capacity_rows: int
    dimension: int
    skill_used: int
    record_ids: np.ndarray
    alive: np.ndarray
    created_at_us: np.ndarray
    updated_at_us: np.ndarray
    title: np.ndarray
    title_scale: np.ndarray
    skills: np.ndarray
    skills_scale: np.ndarray
    experience: np.ndarray
    experience_scale: np.ndarray
    skill_start: np.ndarray
    skill_count: np.ndarray
    skill_ids: np.ndarray
    skill_weights: np.ndarray
    term_start: np.ndarray
    term_count: np.ndarray
    term_length: np.ndarray
    term_used: int
    term_ids: np.ndarray
    term_freqs: np.ndarray
    term_df: np.ndarray  # documents per term hash bucket
    term_docs: int
    mean_length: float
    years: np.ndarray
    education: np.ndarray
    languages: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    refusals: np.ndarray
    tag_rows: dict[tuple[str, str | None], np.ndarray]


def _compact_starts(counts: np.ndarray) -> np.ndarray:
    """Where each row's list starts once the lists are packed end to end."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _live_positions(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions of the rows' current list entries, in row order (what packing keeps)."""
    counts = counts.astype(np.int64)
    shift = np.repeat(starts.astype(np.int64) - _compact_starts(counts), counts)
    return shift + np.arange(int(counts.sum()), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class TermStatistics:
    """BM25's statistics of a pool: documents per term bucket, documents, and their lengths summed (content
    words: whole numbers, so sums are exact in any order). A pool split in shards scores each shard's
    candidates with the whole pool's statistics (the shards' summed), so its scores are one node's."""

    df: np.ndarray  # int32, TERM_BUCKETS
    docs: int
    length_sum: float

    @classmethod
    def of(cls, columns: ColumnArrays) -> TermStatistics:
        return cls(columns.term_df, columns.term_docs, float(columns.term_length[: columns.rows].sum(dtype=np.float64)))

    @classmethod
    def summed(cls, parts: Sequence[TermStatistics]) -> TermStatistics:
        df = np.zeros(TERM_BUCKETS, dtype=np.int32)
        for part in parts:
            df += part.df
        return cls(df, sum(part.docs for part in parts), sum(part.length_sum for part in parts))

    @staticmethod
    def mean_of(lengths: np.ndarray) -> float:
        """The mean record length BM25 normalises by (at least 1), summed in float64 as `of` sums."""
        return max(1.0, float(lengths.sum(dtype=np.float64)) / len(lengths)) if len(lengths) else 1.0

    def mean_length(self) -> float:
        return max(1.0, self.length_sum / self.docs) if self.docs else 1.0

    def applied_to(self, columns: ColumnArrays) -> ColumnArrays:
        """The columns as scoring reads them with these statistics in place of their own."""
        return dataclasses.replace(columns, term_df=self.df, term_docs=self.docs, mean_length=self.mean_length())


def live_tag_counts(columns: ColumnArrays) -> dict[tuple[str, str | None], int]:
    """How many live rows carry each tag (tags no live row carries left out)."""
    alive = columns.alive[: columns.rows]
    counts = {tag: int(alive[rows[rows < columns.rows]].sum()) for tag, rows in columns.tag_rows.items()}
    return {tag: count for tag, count in counts.items() if count}


def quantize_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes per row and the scale that maps them back; an all-zero row (an empty view) has scale 0."""
    vectors = np.asarray(vectors, dtype=np.float32)
    peaks = np.max(np.abs(vectors), axis=1) if vectors.size else np.zeros(len(vectors), dtype=np.float32)
    scales = np.where(peaks > 0, peaks / 127.0, 0.0).astype(np.float32)
    codes = np.round(vectors / np.where(scales > 0, scales, 1.0)[:, None]).astype(np.int8)
    return codes, scales


class FeatureColumns:
    # One entry per row, allocated from _ROW_COLUMNS; one int8 matrix per side view.
    record_ids: np.ndarray
    alive: np.ndarray
    created_at_us: np.ndarray
    updated_at_us: np.ndarray
    title_scale: np.ndarray
    skills_scale: np.ndarray
    experience_scale: np.ndarray
    skill_start: np.ndarray
    skill_count: np.ndarray
    term_start: np.ndarray
    term_count: np.ndarray
    term_length: np.ndarray
    years: np.ndarray
    education: np.ndarray
    languages: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    refusals: np.ndarray
    title: np.ndarray
    skills: np.ndarray
    experience: np.ndarray

    def __init__(self, dimension: int, capacity: int = 1024) -> None:
        self.dimension = dimension
        self.rows = 0
        self.skill_used = 0
        self._capacity = capacity
        for name, dtype in _ROW_COLUMNS.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        for view in SIDE_VIEWS:
            setattr(self, view, np.zeros((capacity, dimension), dtype=np.int8))
        self.skill_ids = np.zeros(capacity * 8, dtype=np.uint32)
        self.skill_weights = np.zeros(capacity * 8, dtype=np.float32)
        self.term_used = 0
        self.term_ids = np.zeros(capacity * 64, dtype=np.uint32)
        self.term_freqs = np.zeros(capacity * 64, dtype=np.uint8)
        self.term_df = np.zeros(TERM_BUCKETS, dtype=np.int32)
        self._row_of: dict[int, int] = {}
        self._tags: dict[tuple[str, str | None], set[int]] = {}
        self._tags_of_row: dict[int, tuple[tuple[str, str | None], ...]] = {}
        self._tag_arrays: dict[tuple[str, str | None], np.ndarray] = {}
        self._lock = threading.Lock()
        self._mean_length: float | None = None  # BM25 average length, None after a write

    def __len__(self) -> int:
        return self.rows

    def row_of(self, record_id: int) -> int | None:
        return self._row_of.get(record_id)

    def upsert(
        self,
        record_id: int,
        created_at_us: int,
        updated_at_us: int,
        features: RecordFeatures,
        views: np.ndarray,
        tags: tuple[tuple[str, str | None], ...] = (),
        alive: bool = True,
    ) -> int:
        """Write a record's features and its SIDE_VIEWS vectors (len(SIDE_VIEWS) x dim) into its row (a new
        row for a new record); returns the row."""
        views = self._checked_views(np.asarray(views)[None])
        with self._lock:
            row = self._row_of.get(record_id)
            if row is None:
                row = self.rows
                self._ensure_rows(row + 1)
                self._row_of[record_id] = row
                self.rows += 1
            self.record_ids[row] = record_id
            self.alive[row] = alive
            self.created_at_us[row] = created_at_us
            self.updated_at_us[row] = updated_at_us
            self._set_views(np.asarray([row]), views)
            count = len(features.skill_ids)
            self._ensure_skills(self.skill_used + count)
            start = self.skill_used
            self.skill_ids[start : start + count] = features.skill_ids
            self.skill_weights[start : start + count] = features.skill_weights
            self.skill_start[row] = start
            self.skill_count[row] = count
            self.skill_used += count
            self._set_terms(row, features)
            self.years[row] = features.years
            self.education[row] = features.education
            self.languages[row] = features.languages
            self.lat[row] = np.nan if features.lat is None else features.lat
            self.lng[row] = np.nan if features.lng is None else features.lng
            self.refusals[row] = features.refusals
            self._set_tags(row, tags)
        return row

    def append(
        self,
        record_ids: np.ndarray,
        created_at_us: np.ndarray,
        updated_at_us: np.ndarray,
        features: list[RecordFeatures],
        views: np.ndarray,
        tags: list[tuple[tuple[str, str | None], ...]] | None = None,
        alive: np.ndarray | None = None,
    ) -> np.ndarray:
        """Add many new records at once (a rebuild, a bulk load), with their SIDE_VIEWS vectors
        (n x len(SIDE_VIEWS) x dim); returns their rows."""
        n = len(record_ids)
        views = self._checked_views(views)
        with self._lock:
            if any(int(record_id) in self._row_of for record_id in record_ids):
                raise ValueError("append() takes new records only; upsert() edits")
            rows = np.arange(self.rows, self.rows + n, dtype=np.int64)
            self._ensure_rows(self.rows + n)
            self.record_ids[rows] = record_ids
            self.alive[rows] = True if alive is None else alive
            self.created_at_us[rows] = created_at_us
            self.updated_at_us[rows] = updated_at_us
            self._set_views(rows, views)
            for name, values in (
                ("years", [f.years for f in features]),
                ("education", [f.education for f in features]),
                ("languages", [f.languages for f in features]),
                ("refusals", [f.refusals for f in features]),
                ("lat", [np.nan if f.lat is None else f.lat for f in features]),
                ("lng", [np.nan if f.lng is None else f.lng for f in features]),
            ):
                getattr(self, name)[rows] = values
            skill_counts = np.array([len(f.skill_ids) for f in features], dtype=np.int64)
            self._ensure_skills(self.skill_used + int(skill_counts.sum()))
            self.skill_start[rows] = self.skill_used + _compact_starts(skill_counts)
            self.skill_count[rows] = skill_counts
            end = self.skill_used + int(skill_counts.sum())
            self.skill_ids[self.skill_used : end] = [i for f in features for i in f.skill_ids]
            self.skill_weights[self.skill_used : end] = [w for f in features for w in f.skill_weights]
            self.skill_used = end
            term_counts = np.array([len(f.terms) for f in features], dtype=np.int64)
            terms = np.fromiter((t for f in features for t in f.terms), dtype=np.uint32, count=int(term_counts.sum()))
            freqs = np.fromiter((c for f in features for c in f.term_freqs), dtype=np.uint8, count=len(terms))
            self._ensure_terms(self.term_used + len(terms))
            self.term_start[rows] = self.term_used + _compact_starts(term_counts)
            self.term_count[rows] = term_counts
            self.term_length[rows] = [f.length for f in features]
            self._mean_length = None
            self.term_ids[self.term_used : self.term_used + len(terms)] = terms
            self.term_freqs[self.term_used : self.term_used + len(terms)] = freqs
            self.term_used += len(terms)
            self.term_df += np.bincount(terms & (TERM_BUCKETS - 1), minlength=TERM_BUCKETS).astype(np.int32)
            self._row_of.update(zip(record_ids.tolist(), rows.tolist()))
            self.rows += n
            for row, row_tags in zip(rows.tolist(), tags or ()):
                self._set_tags(row, row_tags)
        return rows

    def set_alive(self, record_id: int, alive: bool, updated_at_us: int | None = None) -> None:
        with self._lock:
            row = self._row_of.get(record_id)
            if row is None:
                return
            self.alive[row] = alive
            if updated_at_us is not None:
                self.updated_at_us[row] = updated_at_us

    def _current_mean_length(self) -> float:
        """BM25's average record length, recomputed after writes only (an O(rows) pass: 0.4 ms at 1M,
        too much for every query)."""
        if self._mean_length is None:
            self._mean_length = TermStatistics.mean_of(self.term_length[: self.rows])
        return self._mean_length

    def snapshot(self) -> ColumnArrays:
        with self._lock:
            tag_rows = {}
            for tag, rows in self._tags.items():
                if tag not in self._tag_arrays:
                    self._tag_arrays[tag] = np.fromiter(sorted(rows), dtype=np.int64, count=len(rows))
                tag_rows[tag] = self._tag_arrays[tag]
            return ColumnArrays(
                rows=self.rows,
                capacity_rows=self._capacity,
                dimension=self.dimension,
                skill_used=self.skill_used,
                term_used=self.term_used,
                term_docs=self.rows,
                mean_length=self._current_mean_length(),
                tag_rows=tag_rows,
                **{
                    name: getattr(self, name)
                    for name in (
                        *_ROW_COLUMNS,
                        *SIDE_VIEWS,
                        "skill_ids",
                        "skill_weights",
                        "term_ids",
                        "term_freqs",
                        "term_df",
                    )
                },
            )

    @classmethod
    def from_arrays(
        cls,
        dimension: int,
        rows: dict[str, np.ndarray],
        skills: tuple[np.ndarray, np.ndarray, np.ndarray],
        terms: tuple[np.ndarray, np.ndarray, np.ndarray],
        tags: dict[tuple[str, str | None], np.ndarray] | None = None,
    ) -> FeatureColumns:
        """Columns from whole arrays at once (bulk loads of millions of rows, where per-record objects
        would cost more than the data): `rows` holds every per-row column and the SIDE_VIEWS codes;
        `skills` is (counts, ids, weights) and `terms` (counts, ids, freqs), lists packed in row order."""
        n = len(rows["record_ids"])
        columns = cls(dimension, capacity=max(n, 1))
        for name, values in rows.items():
            getattr(columns, name)[:n] = values
        skill_counts, skill_ids, skill_weights = skills
        columns.skill_count[:n], columns.skill_start[:n] = skill_counts, _compact_starts(skill_counts)
        columns.skill_ids, columns.skill_weights = skill_ids.astype(np.uint32), skill_weights.astype(np.float32)
        columns.skill_used = len(skill_ids)
        term_counts, term_ids, term_freqs = terms
        columns.term_count[:n], columns.term_start[:n] = term_counts, _compact_starts(term_counts)
        columns.term_ids, columns.term_freqs = term_ids.astype(np.uint32), term_freqs.astype(np.uint8)
        columns.term_used = len(term_ids)
        columns.term_df[:] = np.bincount(columns.term_ids & (TERM_BUCKETS - 1), minlength=TERM_BUCKETS)
        columns.rows = n
        columns._row_of = dict(zip(columns.record_ids[:n].tolist(), range(n)))
        for tag, tag_rows in (tags or {}).items():
            columns._tags[tag] = set(tag_rows.tolist())
            for row in tag_rows.tolist():
                columns._tags_of_row[row] = (*columns._tags_of_row.get(row, ()), tag)
        return columns

    # -- persistence -------------------------------------------------------------------------------

    def save(self, directory: Path) -> dict[str, int]:
        """Write every array as its own .npy file (so each can be memory-mapped), with room to grow, into
        `directory`; returns the counts the generation's meta must record. Callers keep writers out."""
        snapshot = self.snapshot()
        n = snapshot.rows
        directory.mkdir()
        capacity = headroom(n)
        for name in (*_ROW_COLUMNS, *SIDE_VIEWS):
            if name not in ("skill_start", "term_start"):
                save_array(directory / f"{name}.npy", getattr(snapshot, name)[:n], capacity)
        # Compact the lists: edits leave their previous lists behind in the arrays.
        lists = {}
        keep = _live_positions(snapshot.skill_start[:n], snapshot.skill_count[:n])
        lists["skill_start"] = _compact_starts(snapshot.skill_count[:n])
        lists["skill_ids"] = snapshot.skill_ids[keep]
        lists["skill_weights"] = snapshot.skill_weights[keep]
        keep = _live_positions(snapshot.term_start[:n], snapshot.term_count[:n])
        lists["term_start"] = _compact_starts(snapshot.term_count[:n])
        lists["term_ids"] = snapshot.term_ids[keep]
        lists["term_freqs"] = snapshot.term_freqs[keep]
        for name, values in lists.items():
            save_array(directory / f"{name}.npy", values, capacity if name.endswith("start") else headroom(len(values)))
        tags = [[name, value, rows.tolist()] for (name, value), rows in snapshot.tag_rows.items()]
        (directory / "tags.msgpack").write_bytes(msgspec.msgpack.encode(tags))
        return {"rows": n, "skill_used": len(lists["skill_ids"]), "term_used": len(lists["term_ids"])}

    @classmethod
    def load(cls, directory: Path, dimension: int, meta: dict[str, int]) -> FeatureColumns:
        """A saved generation's columns, memory-mapped copy-on-write (see index/snapshots.py)."""
        n = meta["rows"]
        columns = cls(dimension, capacity=0)
        for name in (*_ROW_COLUMNS, *SIDE_VIEWS, "skill_ids", "skill_weights", "term_ids", "term_freqs"):
            setattr(columns, name, load_array(directory / f"{name}.npy"))
        columns._capacity = len(columns.record_ids)
        if columns._capacity < n or columns.title.shape[1:] != (dimension,):
            raise ValueError(f"{directory}: columns of another shape")
        columns.rows, columns.skill_used, columns.term_used = n, meta["skill_used"], meta["term_used"]
        terms = columns.term_ids[: columns.term_used]
        columns.term_df[:] = np.bincount(terms & (TERM_BUCKETS - 1), minlength=TERM_BUCKETS)
        columns._row_of = dict(zip(columns.record_ids[:n].tolist(), range(n)))
        for name, value, rows in msgspec.msgpack.decode((directory / "tags.msgpack").read_bytes()):
            columns._tags[(name, value)] = set(rows)
            for row in rows:
                columns._tags_of_row[row] = (*columns._tags_of_row.get(row, ()), (name, value))
        return columns

    def clear(self, record_id: int) -> None:
        """An erased record: its row stays taken but dead, its side views and lists emptied."""
        with self._lock:
            row = self._row_of.get(record_id)
            if row is None:
                return
            self.alive[row] = False
            for view in SIDE_VIEWS:
                getattr(self, view)[row] = 0
                getattr(self, f"{view}_scale")[row] = 0.0
            self.skill_count[row] = 0
            self._drop_terms(row)
            self._set_tags(row, ())

    # -- growth ------------------------------------------------------------------------------------

    def _ensure_rows(self, needed: int) -> None:
        if needed > self._capacity:
            self._capacity = self._grow((*_ROW_COLUMNS, *SIDE_VIEWS), self.rows, needed, self._capacity)

    def _ensure_skills(self, needed: int) -> None:
        if needed > len(self.skill_ids):
            self._grow(("skill_ids", "skill_weights"), self.skill_used, needed, len(self.skill_ids))

    def _ensure_terms(self, needed: int) -> None:
        if needed > len(self.term_ids):
            self._grow(("term_ids", "term_freqs"), self.term_used, needed, len(self.term_ids))

    def _grow(self, names: tuple[str, ...], used: int, needed: int, capacity: int) -> int:
        """Replace the named arrays by ones at least twice as long (readers keep the old ones)."""
        capacity = max(needed, 2 * capacity)
        for name in names:
            old = getattr(self, name)
            grown = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            grown[:used] = old[:used]
            setattr(self, name, grown)
        return capacity

    def _checked_views(self, views: np.ndarray) -> np.ndarray:
        if views.ndim != 3 or views.shape[1:] != (len(SIDE_VIEWS), self.dimension):
            raise ValueError(f"views must be (records, {len(SIDE_VIEWS)}, {self.dimension}), not {views.shape}")
        return views

    def _set_views(self, rows: np.ndarray, views: np.ndarray) -> None:
        for position, view in enumerate(SIDE_VIEWS):
            getattr(self, view)[rows], getattr(self, f"{view}_scale")[rows] = quantize_rows(views[:, position])

    def _set_terms(self, row: int, features: RecordFeatures) -> None:
        """Append the row's words and keep the per-bucket document frequencies current."""
        self._drop_terms(row)
        terms = np.asarray(features.terms, dtype=np.uint32)
        self._ensure_terms(self.term_used + len(terms))
        start = self.term_used
        self.term_ids[start : start + len(terms)] = terms
        self.term_freqs[start : start + len(terms)] = features.term_freqs
        self.term_start[row], self.term_count[row] = start, len(terms)
        self.term_length[row] = features.length
        self._mean_length = None
        self.term_used += len(terms)
        np.add.at(self.term_df, terms & (TERM_BUCKETS - 1), 1)

    def _drop_terms(self, row: int) -> None:
        """The row has no words any more: the documents per term no longer count it."""
        previous = self.term_ids[self.term_start[row] : self.term_start[row] + self.term_count[row]]
        np.subtract.at(self.term_df, previous & (TERM_BUCKETS - 1), 1)
        self.term_count[row], self.term_length[row] = 0, 0.0
        self._mean_length = None

    def _set_tags(self, row: int, tags: tuple[tuple[str, str | None], ...]) -> None:
        for tag in self._tags_of_row.get(row, ()):
            self._tags[tag].discard(row)
            self._tag_arrays.pop(tag, None)
        for tag in tags:
            self._tags.setdefault(tag, set()).add(row)
            self._tag_arrays.pop(tag, None)
        self._tags_of_row[row] = tuple(tags)


def with_record_replaced(
    statistics: TermStatistics, original: RecordFeatures, features: RecordFeatures, views: np.ndarray
) -> ColumnArrays:
    """Columns holding one edited version of a record of a pool (as their row 0), with the pool's
    statistics as that edit would leave them (documents per term, summed length): what re-scoring the
    edit against the pool reads, the pool itself untouched. `statistics`: the pool's (its shards' summed,
    in a cluster); `views`: the edit's SIDE_VIEWS vectors."""
    scratch = FeatureColumns(views.shape[1], capacity=1)
    scratch.upsert(0, 0, 0, features, views)
    if features.terms != original.terms or features.length != original.length:
        df = statistics.df.copy()
        np.subtract.at(df, np.asarray(original.terms, dtype=np.uint32) & (TERM_BUCKETS - 1), 1)
        np.add.at(df, np.asarray(features.terms, dtype=np.uint32) & (TERM_BUCKETS - 1), 1)
        length_sum = statistics.length_sum - float(original.length) + float(features.length)
        statistics = TermStatistics(df, statistics.docs, length_sum)
    return statistics.applied_to(scratch.snapshot())
