"""The parsing queue's table: files accepted with `sync_parsing=0`, claimed by one worker at a time under
a lease, finished with their outcome."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cerebro_serve.store.connection import now_us
from cerebro_serve.store.records import ParsingJob
from cerebro_serve.store.schema import parsing_jobs

PARSING_LEASE_US = 10 * 60 * 1_000_000


class ParsingJobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue_parsing(self, key: str, source_key: str, reference: str | None, request: bytes) -> None:
        now = now_us()
        with self.engine.begin() as connection:
            connection.execute(
                parsing_jobs.insert().values(
                    key=key,
                    source_key=source_key,
                    reference=reference,
                    status="queued",
                    request=request,
                    created_at_us=now,
                    updated_at_us=now,
                )
            )

    @staticmethod
    def _claimable(lease_us: int) -> sa.ColumnElement[bool]:
        """Queued, or taken by a worker that has held it past the lease (it died with the job)."""
        expired = sa.and_(parsing_jobs.c.status == "running", parsing_jobs.c.claimed_at_us < now_us() - lease_us)
        return sa.or_(parsing_jobs.c.status == "queued", expired)

    def queued_parsing(self, limit: int, lease_us: int = PARSING_LEASE_US) -> list[ParsingJob]:
        """The oldest jobs a worker may take, including those a dead worker left running."""
        query = (
            sa.select(parsing_jobs)
            .where(self._claimable(lease_us))
            .order_by(parsing_jobs.c.created_at_us, parsing_jobs.c.key)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [self._parsing_job(row) for row in connection.execute(query)]

    def claim_parsing(self, key: str, lease_us: int = PARSING_LEASE_US) -> bool:
        """Take a job for this worker; False when another worker (or process) got it first."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                parsing_jobs.update()
                .where(parsing_jobs.c.key == key, self._claimable(lease_us))
                .values(status="running", claimed_at_us=now_us())
            )
        return claimed.rowcount == 1

    def finish_parsing(self, key: str, error: str | None) -> None:
        """Mark a job done (or failed) and drop the file it carried."""
        with self.engine.begin() as connection:
            connection.execute(
                parsing_jobs.update()
                .where(parsing_jobs.c.key == key)
                .values(status="failed" if error else "succeeded", error=error, request=None, updated_at_us=now_us())
            )

    def find_parsing(
        self, source_key: str, *, key: str | None = None, reference: str | None = None
    ) -> ParsingJob | None:
        condition = parsing_jobs.c.source_key == source_key
        if key is not None:
            condition = sa.and_(condition, parsing_jobs.c.key == key)
        if reference is not None:
            condition = sa.and_(condition, parsing_jobs.c.reference == reference)
        query = sa.select(parsing_jobs).where(condition).order_by(parsing_jobs.c.created_at_us.desc()).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return self._parsing_job(row) if row else None

    @staticmethod
    def _parsing_job(row: sa.Row) -> ParsingJob:
        request = bytes(row.request) if row.request is not None else None
        return ParsingJob(row.key, row.source_key, row.reference, row.status, request, row.error)
