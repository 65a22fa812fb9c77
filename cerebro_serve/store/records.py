"""Plain row types that cross the store boundary, so callers never touch SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class StoredPool:
    key: str
    kind: str  # "source" or "board"
    name: str
    description: str | None
    created_at_us: int
    revision: int
    size: int = 0


@dataclass(frozen=True, slots=True)
class StoredRecord:
    id: int
    kind: str  # "profile" or "job"
    key: str
    pool_key: str
    reference: str | None
    body: bytes  # the msgspec-encoded Profile or Job
    created_at_us: int
    updated_at_us: int
    archived_at_us: int | None


@dataclass(frozen=True, slots=True)
class RecordContent:
    """What a write replaces: the object, its view vectors, its features and the columns filters read."""

    reference: str | None
    email: str | None
    name: str | None
    search_text: str
    body: bytes
    model: str
    embedding: np.ndarray | None  # one row per view; None: consent withholds embedding, nothing is stored
    features: bytes
    tags: tuple[tuple[str, str | None], ...] = ()

    def columns(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "email": self.email,
            "name": self.name,
            "search_text": self.search_text,
            "body": self.body,
            "model": self.model,
            "embedding": b"" if self.embedding is None else np.ascontiguousarray(self.embedding, np.float32).tobytes(),
            "features": self.features,
        }


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a record removed (or, for feedback and scoring calls, unlinked from it), by kind."""

    records: int
    vectors: int  # the record's stored view vectors (0 when its consent had withheld embedding)
    features: int
    tags: int
    protected_attributes: int
    parsing_jobs: int
    feedback_anonymised: int  # kept for aggregate counts, with no link to the person
    scoring_calls_unlinked: int  # the usage log's calls it anchored, kept without its key


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What a pool's index and feature columns are rebuilt from, for one record."""

    id: int
    kind: str
    created_at_us: int
    updated_at_us: int
    archived: bool
    model: str
    embedding: bytes  # empty: consent withholds embedding
    features: bytes | None
    body: bytes
    tags: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class TagClause:
    """One tag of a CNF group; `value=None` matches any value of the named tag."""

    name: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Filters pushed down into SQL (listing; keyword and name filters of a ranking). Tag, date-range and
    location filters of a ranking are row masks over the pool's columns (index/filters.py)."""

    created_at_min_us: int | None = None
    created_at_max_us: int | None = None
    text_keywords: tuple[str, ...] = ()
    name: str | None = None
    key: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Candidates:
    """Live (unarchived) records that pass a filter, as aligned columns sorted by id."""

    ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    created_at_us: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    updated_at_us: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, slots=True)
class ParsingJob:
    key: str
    source_key: str
    reference: str | None
    status: str  # queued, succeeded, failed
    request: bytes | None
    error: str | None


@dataclass(frozen=True, slots=True)
class PoolChanges:
    """A pool's writes after some revision: what another process's index applies."""

    written: list[IndexRow]
    erased: list[int]  # record ids
