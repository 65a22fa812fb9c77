"""The queued jobs' tables counted by status, for the metrics endpoint: one `COUNT ... GROUP BY status`
a table, small tables or ones indexed by status, read when Prometheus scrapes, never on a request."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cerebro_serve.store.schema import metadata

# The fairness audits' table joins the schema with its own migration; counted once it is declared.
JOB_TABLES = ("trainings", "parsing_jobs", "fairness_audits")


class JobCounts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def by_status(self) -> dict[str, dict[str, int]]:
        """{table: {status: rows}} for each job table the schema declares."""
        tables = [metadata.tables[name] for name in JOB_TABLES if name in metadata.tables]
        counts: dict[str, dict[str, int]] = {}
        with self.engine.connect() as connection:
            for table in tables:
                query = sa.select(table.c.status, sa.func.count()).group_by(table.c.status)
                counts[table.name] = {str(status): int(rows) for status, rows in connection.execute(query).all()}
        return counts
