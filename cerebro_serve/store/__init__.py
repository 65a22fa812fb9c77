"""Durable storage for pools, records, their vectors and API keys (SQLite by default, PostgreSQL in production)."""

from cerebro_serve.store.records import (
    Candidates,
    IndexRow,
    ParsingJob,
    PoolChanges,
    RecordContent,
    RecordFilter,
    StoredPool,
    StoredRecord,
    TagClause,
)
from cerebro_serve.store.sql import SqlStore, open_store

__all__ = [
    "Candidates",
    "IndexRow",
    "PoolChanges",
    "ParsingJob",
    "RecordContent",
    "RecordFilter",
    "SqlStore",
    "StoredPool",
    "StoredRecord",
    "TagClause",
    "open_store",
]
