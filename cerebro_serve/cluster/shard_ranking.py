"""One pool's ranking, computed in shards and merged into one node's answer.

One node ranks a pool in two stages: the `depth` rows nearest the anchor (among those the filters
allow), then the re-ranker's scores for them. In shards, each shard answers with its own `depth` nearest,
their similarities and, when an algorithm scores, their scores under the whole pool's BM25 statistics
(`TermStatistics`, the shards' summed); the merge keeps the `depth` nearest of them all, which are the
rows one node would have re-ranked wherever the first stage is exact (a shard's nearest include every
one of its rows among the pool's nearest), with the scores one node gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cerebro_serve.index.columns import ColumnArrays, TermStatistics
from cerebro_serve.index.filters import RowFilter, row_mask
from cerebro_serve.index.registry import PoolIndex
from cerebro_serve.index.topk import order_by_date
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, rerank


@dataclass(frozen=True, slots=True)
class ShardRequest:
    """What every shard of a pool ranks: the anchor's vector and (to score) its features and algorithm,
    the filters, how many nearest rows to return (None: every allowed row, as ranking worst first needs),
    and the pool's statistics the scores use."""

    vector: np.ndarray
    row_filter: RowFilter
    depth: int | None
    query: QueryFeatures | None = None
    algorithm: Algorithm | None = None
    statistics: TermStatistics | None = None

    @property
    def scores(self) -> bool:
        return self.query is not None and self.algorithm is not None


@dataclass(frozen=True, slots=True)
class ShardHits:
    """A shard's (or, merged, the pool's) nearest rows: their record ids, similarities and scores (None
    when nothing scores), how many of the shard's rows the filters allow, and the pool revision the
    shard's index had reached (merged: the lowest)."""

    record_ids: np.ndarray
    similarities: np.ndarray
    scores: np.ndarray | None
    allowed: int
    revision: int = 0
    dates: np.ndarray | None = None  # a listing's: the rows' dates, in its order
    features: np.ndarray | None = None  # scored records': what the re-ranker read of each (explanations)


@dataclass(frozen=True, slots=True)
class ShardListing:
    """A page sorted by date, from every shard: the filters, which date (`updated`: updated_at, else
    created_at), which way, and how many rows from the top each shard returns (the page's end)."""

    row_filter: RowFilter
    updated: bool
    descending: bool
    wanted: int


def rank_shard(index: PoolIndex, request: ShardRequest) -> ShardHits:
    """This shard's answer to the request, from its index."""
    columns = index.columns.snapshot()
    mask = row_mask(columns, request.row_filter)
    allowed = int(np.count_nonzero(mask))
    if request.depth is None:
        rows = np.flatnonzero(mask)
        similarities = index.vectors.similarities(request.vector, rows)
    elif allowed:
        found = index.vectors.search(request.vector, min(request.depth, allowed), mask)
        rows, similarities = found.rows, found.similarities
    else:
        rows, similarities = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    scores, _ = _reranked(columns, request, rows, similarities)
    return ShardHits(columns.record_ids[rows], similarities, scores, allowed, index.revision)


def _reranked(
    columns: ColumnArrays, request: ShardRequest, rows: np.ndarray, similarities: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The re-ranker's score of each row and the features it read, with the pool's statistics, in the
    rows' order; None when the request only searches."""
    if not request.scores:
        return None, None
    assert request.query is not None and request.algorithm is not None  # `scores` says so
    scoring = request.statistics.applied_to(columns) if request.statistics is not None else columns
    ranked = rerank(scoring, request.query, request.algorithm, rows, similarities, len(rows), -np.inf)
    scores = np.empty(len(rows), dtype=np.float32)
    scores[ranked.positions] = ranked.scores
    features = np.empty_like(ranked.features)
    features[ranked.positions] = ranked.features
    return scores, features


def list_shard(index: PoolIndex, listing: ShardListing) -> ShardHits:
    """This shard's first `wanted` allowed rows by date (ties by record id)."""
    columns = index.columns.snapshot()
    rows = np.flatnonzero(row_mask(columns, listing.row_filter))
    ids = columns.record_ids[rows]
    dates = (columns.updated_at_us if listing.updated else columns.created_at_us)[rows]
    order = order_by_date(ids, dates, listing.descending)[: listing.wanted]
    return ShardHits(ids[order], np.empty(0, dtype=np.float32), None, len(rows), index.revision, dates[order])


def score_shard(index: PoolIndex, request: ShardRequest, record_ids: np.ndarray) -> ShardHits:
    """The similarities (and, when the request scores, scores and the re-ranker's features) of those of the
    records that this shard holds and the request's filter allows: what a page sorted by date shows beside
    each record, what an explanation takes apart, what a fairness audit scores."""
    columns = index.columns.snapshot()
    held = [
        (record_id, row) for record_id in record_ids.tolist() if (row := index.columns.row_of(record_id)) is not None
    ]
    ids = np.array([record_id for record_id, _ in held], dtype=np.int64)
    rows = np.array([row for _, row in held], dtype=np.int64)
    kept = rows < columns.rows  # a record added since the snapshot is not in it
    kept[kept] = row_mask(columns, request.row_filter)[rows[kept]]
    ids, rows = ids[kept], rows[kept]
    similarities = index.vectors.similarities(request.vector, rows)
    scores, features = _reranked(columns, request, rows, similarities)
    return ShardHits(ids, similarities, scores, len(rows), index.revision, features=features)


def merge_by_date(parts: Sequence[ShardHits], descending: bool) -> ShardHits:
    """Every shard's rows of a listing, in date order (ties by record id)."""
    ids = np.concatenate([part.record_ids for part in parts]) if parts else np.empty(0, dtype=np.int64)
    dates = np.concatenate([part.dates for part in parts if part.dates is not None]) if parts else ids
    order = order_by_date(ids, dates, descending)
    revision = min((part.revision for part in parts), default=0)
    empty = np.empty(0, dtype=np.float32)
    return ShardHits(ids[order], empty, None, sum(part.allowed for part in parts), revision, dates[order])


def merge(parts: Sequence[ShardHits], depth: int | None) -> ShardHits:
    """The `depth` nearest of every shard's rows (all of them when None), nearest first, equal
    similarities in record id order."""
    ids = np.concatenate([part.record_ids for part in parts]) if parts else np.empty(0, dtype=np.int64)
    similarities = np.concatenate([part.similarities for part in parts]) if parts else np.empty(0, dtype=np.float32)
    order = np.lexsort((ids, -similarities))[:depth]
    scored = [part.scores for part in parts if part.scores is not None]
    scores = np.concatenate(scored)[order] if parts and len(scored) == len(parts) else None
    revision = min((part.revision for part in parts), default=0)
    return ShardHits(ids[order], similarities[order], scores, sum(part.allowed for part in parts), revision)
