"""The store, written once against SQLAlchemy Core and run on SQLite (embedded) or PostgreSQL: one
database, one concern per part (pools, records, the parsing queue, API keys, the learning loop).

Every write commits before it returns, so a record the API has acknowledged survives a crash.
"""

from __future__ import annotations

import sqlalchemy as sa

from cerebro_serve.store.algorithm_stops import StopStore
from cerebro_serve.store.api_keys import KeyStore
from cerebro_serve.store.audit import AuditStore
from cerebro_serve.store.connection import open_engine
from cerebro_serve.store.copilots import CopilotStore
from cerebro_serve.store.job_counts import JobCounts
from cerebro_serve.store.learning import LearningStore
from cerebro_serve.store.parsing_jobs import ParsingJobStore
from cerebro_serve.store.pools import PoolStore
from cerebro_serve.store.record_store import RecordStore
from cerebro_serve.store.schema import migrate


class SqlStore:
    """The database, migrated to the current schema, and its parts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)
        with self.engine.begin() as connection:
            self.schema_version = migrate(connection)
        self.pools = PoolStore(self.engine)
        self.records = RecordStore(self.engine)
        self.parsing_jobs = ParsingJobStore(self.engine)
        self.keys = KeyStore(self.engine)
        self.learning = LearningStore(self.engine)
        self.audit = AuditStore(self.engine)
        self.stops = StopStore(self.engine)
        self.job_counts = JobCounts(self.engine)
        self.copilots = CopilotStore(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        """A round trip to the database; raises when it does not answer."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str) -> SqlStore:
    return SqlStore(url)
