"""Sources (of profiles) and boards (of jobs)."""

from __future__ import annotations

import secrets

from cerebro_serve.objects import Pool, RecordKind
from cerebro_serve.services.errors import NotFound
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import PoolCreate, PoolListQuery
from cerebro_serve.services.timestamps import format_timestamp
from cerebro_serve.store import SqlStore, StoredPool


def pool_object(pool: StoredPool) -> Pool:
    return Pool(
        key=pool.key,
        name=pool.name,
        description=pool.description,
        created_at=format_timestamp(pool.created_at_us),
        stats={"size": pool.size},
    )


class PoolService:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        # Pools are never renamed or deleted, so a pool once found can be remembered (sizes are not).
        self._known: dict[tuple[str, str], StoredPool] = {}

    def create(self, kind: RecordKind, request: PoolCreate) -> Pool:
        pool = self.store.pools.create_pool(kind.pool, secrets.token_hex(20), request.name, request.description)
        return pool_object(pool)

    def require(self, kind: RecordKind, key: str) -> StoredPool:
        pool = self._known.get((kind.pool, key))
        if pool is None:
            pool = self.store.pools.get_pool(kind.pool, key)
            if pool is None:
                raise NotFound(kind.pool)
            self._known[(kind.pool, key)] = pool
        return pool

    def get(self, kind: RecordKind, key: str) -> Pool:
        pool = self.store.pools.get_pool(kind.pool, key, with_size=True)
        if pool is None:
            raise NotFound(kind.pool)
        return pool_object(pool)

    def list(self, kind: RecordKind, query: PoolListQuery) -> Page[Pool]:
        pools, total = self.store.pools.list_pools(
            kind.pool,
            query.name,
            offset=(query.page - 1) * query.limit,
            limit=query.limit,
            descending=query.order_by != "asc",
        )
        return Page([pool_object(pool) for pool in pools], query.page, query.limit, total)
