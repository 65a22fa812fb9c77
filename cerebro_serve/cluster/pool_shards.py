"""Where a pool's shards are, as the front end sees them: something that answers a `ShardRequest` from
every shard of a pool, and sums their statistics."""

from __future__ import annotations

from typing import Protocol

from cerebro_serve.cluster.shard_ranking import ShardHits, ShardRequest, rank_shard
from cerebro_serve.index.columns import TermStatistics
from cerebro_serve.index.registry import IndexRegistry, PoolIndex
from cerebro_serve.index.shards import Shard
from cerebro_serve.index.vector_index import ANN_MIN_ROWS
from cerebro_serve.store import SqlStore


class ShardNotReady(Exception):
    """A shard cannot answer for a pool yet (its records need computing again, or it is catching up)."""


class PoolShards(Protocol):
    count: int

    def statistics(self, pool_key: str) -> TermStatistics:
        """The pool's BM25 statistics, every shard's summed."""
        ...

    def rank(self, pool_key: str, request: ShardRequest) -> list[ShardHits]:
        """Every shard's answer, in shard order."""
        ...


class LocalShards:
    """A pool's shards as indexes in this process, each built from the store and following its writes as
    a shard of a cluster does: what shows that sharding changes no answer, without a cluster."""

    def __init__(self, store: SqlStore, model: str, dimension: int, count: int, ann_min_rows: int = ANN_MIN_ROWS):
        """`model`: the vectors' tag (`engine.views.vectors_tag`); shards index only rows carrying it."""
        self.count = count
        self.registries = [
            IndexRegistry(store, None, model, dimension, ann_min_rows, shard=Shard(number, count))
            for number in range(count)
        ]

    def statistics(self, pool_key: str) -> TermStatistics:
        return TermStatistics.summed([TermStatistics.of(index.columns.snapshot()) for index in self._indexes(pool_key)])

    def rank(self, pool_key: str, request: ShardRequest) -> list[ShardHits]:
        return [rank_shard(index, request) for index in self._indexes(pool_key)]

    def _indexes(self, pool_key: str) -> list[PoolIndex]:
        indexes = []
        for registry in self.registries:
            registry.catch_up(pool_key)
            index, stale = registry.open(pool_key)
            if stale:
                raise ShardNotReady(f"{registry.shard}: {len(stale)} records of {pool_key} need computing again")
            indexes.append(index)
        return indexes
