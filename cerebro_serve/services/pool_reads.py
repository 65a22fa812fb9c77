"""What the services beside ranking read of a whole pool (explanations, fairness audits, bias probes, the
copilots' tag choices): records' scores and the re-ranker's features, the rows a filter allows, BM25's
statistics, tag counts. From this process's index, or, where a cluster's shards hold the pools, from the
shards (the front end then loads no pool), through the same shard calls, so both give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerebro_serve.cluster.pool_shards import PoolShards
from cerebro_serve.cluster.shard_ranking import (
    ShardHits,
    ShardListing,
    ShardRequest,
    list_shard,
    rank_shard,
    score_shard,
)
from cerebro_serve.index.columns import TermStatistics, live_tag_counts
from cerebro_serve.index.filters import RowFilter
from cerebro_serve.services.errors import from_shards
from cerebro_serve.services.records import RecordService


@dataclass(frozen=True, slots=True)
class Scored:
    """Records' scores, by ascending record id; `features` (what the re-ranker read of each) when the
    shard calls returned them (scores of chosen records do, every allowed row's do not)."""

    record_ids: np.ndarray
    scores: np.ndarray
    features: np.ndarray | None

    def score_of(self, record_id: int) -> float | None:
        at = int(np.searchsorted(self.record_ids, record_id))
        return float(self.scores[at]) if at < len(self.record_ids) and self.record_ids[at] == record_id else None


class PoolReads:
    def __init__(self, records: RecordService, shards: PoolShards | None) -> None:
        self.records = records
        self.shards = shards

    def scored(self, pool_key: str, request: ShardRequest, record_ids: np.ndarray | None = None) -> Scored:
        """The request's scores (it must score) of the pool's rows its filter allows: of these records
        only, or of every such row (None)."""
        assert request.scores and request.depth is None
        shards = self.shards
        if shards is None:
            index = self.records.pool_index(pool_key)
            parts = [rank_shard(index, request) if record_ids is None else score_shard(index, request, record_ids)]
        elif record_ids is None:
            parts = from_shards(lambda: shards.rank(pool_key, request)).hits
        else:
            parts = from_shards(lambda: shards.score(pool_key, request, record_ids)).hits
        return _by_record_id(parts)

    def allowed_ids(self, pool_key: str, row_filter: RowFilter) -> np.ndarray:
        """The record ids of the pool's rows the filter allows, ascending."""
        listing = ShardListing(row_filter, updated=False, descending=False, wanted=2**62)
        shards = self.shards
        if shards is None:
            parts = [list_shard(self.records.pool_index(pool_key), listing)]
        else:
            parts = from_shards(lambda: shards.by_date(pool_key, listing)).hits
        return np.sort(np.concatenate([part.record_ids for part in parts])) if parts else np.empty(0, np.int64)

    def statistics(self, pool_key: str) -> TermStatistics:
        """The pool's BM25 statistics, as its scores use them."""
        if self.shards is None:
            return TermStatistics.of(self.records.pool_index(pool_key).columns.snapshot())
        return self.shards.statistics(pool_key)

    def tag_counts(self, pool_key: str) -> dict[tuple[str, str | None], int]:
        """How many live records of the pool carry each tag: the choices a filter by tags can offer."""
        if self.shards is None:
            return live_tag_counts(self.records.pool_index(pool_key).columns.snapshot())
        return self.shards.tag_counts(pool_key)


def _by_record_id(parts: list[ShardHits]) -> Scored:
    ids = np.concatenate([part.record_ids for part in parts]) if parts else np.empty(0, np.int64)
    order = np.argsort(ids, kind="stable")
    scores = np.concatenate([part.scores for part in parts if part.scores is not None]) if parts else np.empty(0)
    with_features = [part.features for part in parts if part.features is not None]
    features = np.concatenate(with_features)[order] if len(with_features) == len(parts) and parts else None
    return Scored(ids[order], scores.astype(np.float32)[order], features)
