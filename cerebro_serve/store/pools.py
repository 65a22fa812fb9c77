"""Sources and boards: their names, sizes and the revision every write bumps (index files name it)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cerebro_serve.store.connection import like_escape, now_us
from cerebro_serve.store.records import StoredPool
from cerebro_serve.store.schema import pools, records


class PoolStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_pool(self, kind: str, key: str, name: str, description: str | None) -> StoredPool:
        created = now_us()
        with self.engine.begin() as connection:
            connection.execute(
                pools.insert().values(key=key, kind=kind, name=name, description=description, created_at_us=created)
            )
        return StoredPool(key, kind, name, description, created, revision=0)

    def get_pool(self, kind: str, key: str, with_size: bool = False) -> StoredPool | None:
        """A pool; counting its live records (`size`) costs a scan, so only when asked."""
        with self.engine.connect() as connection:
            row = connection.execute(
                self._pool_select(with_size).where(pools.c.kind == kind, pools.c.key == key)
            ).first()
        return self._pool_from_row(row) if row else None

    def list_pools(
        self, kind: str, name: str | None, offset: int, limit: int, descending: bool
    ) -> tuple[list[StoredPool], int]:
        condition = pools.c.kind == kind
        if name:
            condition = sa.and_(
                condition, sa.func.lower(pools.c.name).like(f"%{like_escape(name.lower())}%", escape="\\")
            )
        order = pools.c.created_at_us.desc() if descending else pools.c.created_at_us.asc()
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(pools).where(condition)).scalar_one()
            rows = connection.execute(
                self._pool_select(with_size=True)
                .where(condition)
                .order_by(order, pools.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [self._pool_from_row(row) for row in rows], total

    def pool_revision(self, key: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(pools.c.revision).where(pools.c.key == key)).scalar_one()

    def pool_revisions(self, keys: Sequence[str]) -> dict[str, int]:
        """Each of these pools' revision in one read (a pool deleted since is absent)."""
        if not keys:
            return {}
        query = sa.select(pools.c.key, pools.c.revision).where(pools.c.key.in_(list(keys)))
        with self.engine.connect() as connection:
            return {key: int(revision) for key, revision in connection.execute(query)}

    @staticmethod
    def _pool_select(with_size: bool) -> sa.Select:
        if not with_size:
            return sa.select(pools, sa.literal(0).label("size"))
        live = sa.and_(records.c.pool_key == pools.c.key, records.c.archived_at_us.is_(None))
        size = sa.select(sa.func.count()).select_from(records).where(live).scalar_subquery()
        return sa.select(pools, size.label("size"))

    @staticmethod
    def _pool_from_row(row: sa.Row) -> StoredPool:
        return StoredPool(row.key, row.kind, row.name, row.description, row.created_at_us, row.revision, row.size)
