"""Durable storage for pools, records, their vectors and API keys (SQLite by default, PostgreSQL in production)."""

from cerebro_serve.store.records import (
    FACETS_VERSION,
    Candidates,
    Facet,
    FacetFilter,
    IndexRow,
    ParsingJob,
    PlaceFilter,
    PoolChanges,
    RecordContent,
    RecordFacets,
    RecordFilter,
    StoredPool,
    StoredRecord,
    TagClause,
)
from cerebro_serve.store.sql import SqlStore, open_store

__all__ = [
    "FACETS_VERSION",
    "Candidates",
    "Facet",
    "FacetFilter",
    "IndexRow",
    "PoolChanges",
    "ParsingJob",
    "PlaceFilter",
    "RecordContent",
    "RecordFacets",
    "RecordFilter",
    "SqlStore",
    "StoredPool",
    "StoredRecord",
    "TagClause",
    "open_store",
]
