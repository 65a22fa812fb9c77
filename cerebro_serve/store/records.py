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


# What a record's facets hold. Records written with an older version (0: none, written before facets
# existed; 1: before levels) are described again when their pool opens (services/records.py), so every
# filter sees them.
FACETS_VERSION = 2

# Facet kinds: an interest (its casefolded name), a named range of numbers or of dates (microseconds since
# the epoch; an open end is None), years of education (low = high), and the place of an experience or an
# education (low = latitude, high = longitude), the level of a skill (named by its concept's hash) or of a
# spoken language (named by its ISO 639-1 code), on parsing/levels.py's scales (low = high = the level).
INTEREST = "interest"
RANGE_FLOAT = "range_float"
RANGE_DATE = "range_date"
EDUCATION_YEARS = "education_years"
EXPERIENCE_PLACE = "experience_place"
EDUCATION_PLACE = "education_place"
SKILL_LEVEL = "skill_level"
LANGUAGE_LEVEL = "language_level"
# Sections whose casefolded text keyword filters search on their own.
SECTIONS = ("summary", "experiences", "educations")


@dataclass(frozen=True, slots=True)
class Facet:
    """A fact about a record that filters read from the store (index/filters.py reads the rest)."""

    kind: str
    name: str | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class RecordFacets:
    """A record's facets and its sections' texts (section, casefolded text), written with the record."""

    sections: tuple[tuple[str, str], ...] = ()
    facets: tuple[Facet, ...] = ()


@dataclass(frozen=True, slots=True)
class FacetFilter:
    """Records with a facet of this kind (and name, when given) whose [low, high] meets [low, high] here
    (an end left None is open)."""

    kind: str
    name: str | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class PlaceFilter:
    """Records with a place of this kind within `radius_km` of the point."""

    kind: str
    lat: float
    lng: float
    radius_km: float


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
    facets: RecordFacets | None = None  # None: not described yet (a later pass fills them in)

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
            "facets_version": 0 if self.facets is None else FACETS_VERSION,
        }


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a record removed (or, for feedback and scoring calls, unlinked from it), by kind."""

    records: int
    vectors: int  # the record's stored view vectors (0 when its consent had withheld embedding)
    features: int
    tags: int
    facets: int  # the texts of its sections and the facts filters read (interests, ranges, places)
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
    """Filters pushed down into SQL (listing; the keyword, name and facet filters of a ranking). Tag,
    date-range and location filters of a ranking are row masks over the pool's columns (index/filters.py)."""

    created_at_min_us: int | None = None
    created_at_max_us: int | None = None
    text_keywords: tuple[str, ...] = ()
    name: str | None = None
    key: str | None = None
    reference: str | None = None
    section_keywords: tuple[tuple[str, str], ...] = ()  # (section, keyword): the section's text holds it
    facets: tuple[FacetFilter, ...] = ()  # every one met
    places: tuple[PlaceFilter, ...] = ()  # every one met


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
