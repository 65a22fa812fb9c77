"""Scoring (profiles for a job, jobs for a profile) and searching, on one path.

1. the filters become a candidate set in SQL (live records of the named pools only);
2. each pool's index gives the similarity of every vector to the anchor's stored vector;
3. similarities are aligned to the candidates, calibrated into scores and thresholded;
4. the native top-k picks the page (or the page is cut by date when the caller sorts by date).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerebro_serve.engine import Encoder
from cerebro_serve.index import IndexRegistry
from cerebro_serve.objects import JOB, PROFILE, RecordKind
from cerebro_serve.scoring import Calibration, topk
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.pages import Page, order_by_date
from cerebro_serve.services.queries import (
    Filtering,
    JobsScoringQuery,
    JobsSearchingQuery,
    ProfilesScoringQuery,
    ProfilesSearchingQuery,
    RecordLookup,
    Scoring,
    Tag,
    TagCnf,
)
from cerebro_serve.services.records import RecordService, tag_value
from cerebro_serve.services.timestamps import optional_timestamp
from cerebro_serve.store import Candidates, RecordFilter, SqlStore, TagClause


@dataclass(frozen=True, slots=True)
class Ranked:
    """Positions into the candidates for one page, and the scores of those positions (if scored)."""

    positions: np.ndarray
    scores: np.ndarray | None
    total: int


class RankingService:
    def __init__(
        self,
        store: SqlStore,
        records: RecordService,
        encoder: Encoder,
        registry: IndexRegistry,
        calibration: Calibration,
    ) -> None:
        self.store = store
        self.records = records
        self.encoder = encoder
        self.registry = registry
        self.calibration = calibration

    def score_profiles(self, query: ProfilesScoringQuery) -> Page:
        record_filter = _record_filter(query)
        anchor = self._anchor(JOB, query.board_key, query.job_key, query.job_reference)
        return self._rank(PROFILE, query.source_keys, query, record_filter, anchor)

    def score_jobs(self, query: JobsScoringQuery) -> Page:
        record_filter = _record_filter(query)
        anchor = self._anchor(PROFILE, query.source_key, query.profile_key, query.profile_reference)
        return self._rank(JOB, query.board_keys, query, record_filter, anchor)

    def search_profiles(self, query: ProfilesSearchingQuery) -> Page:
        return self._rank(PROFILE, query.source_keys, query, _record_filter(query), self._keyword_anchor(query))

    def search_jobs(self, query: JobsSearchingQuery) -> Page:
        return self._rank(JOB, query.board_keys, query, _record_filter(query), self._keyword_anchor(query))

    # -- steps -------------------------------------------------------------------------------------

    def _anchor(self, kind: RecordKind, pool_key: str, key: str | None, reference: str | None) -> np.ndarray:
        """The stored vector of the job (or profile) everything is scored against."""
        if key is None and reference is None:
            raise InvalidParameters(f"give `{kind.name}_key` or `{kind.name}_reference`")
        stored = self.records.find(kind, pool_key, RecordLookup(key=key, reference=reference))
        model, vector = self.store.record_embedding(stored.id)
        if model != self.encoder.name:
            return self.records.reembed(pool_key, [stored.id])[stored.id]
        return vector

    def _keyword_anchor(self, query: Filtering) -> np.ndarray | None:
        """Searching sorted by relevance ranks by similarity to the keywords; otherwise it lists."""
        if query.sort_by not in ("scoring", "searching"):
            return None
        if not query.text_keywords:
            raise InvalidParameters("sorting a search by relevance needs `text_keywords`")
        return self.encoder.embed_documents([" ".join(query.text_keywords)])[0]

    def _rank(
        self,
        kind: RecordKind,
        pool_keys: list[str],
        query: Filtering,
        record_filter: RecordFilter,
        anchor: np.ndarray | None,
    ) -> Page:
        if not pool_keys:
            raise InvalidParameters(f"`{kind.pool}_keys` must name at least one {kind.pool}")
        for pool_key in pool_keys:
            self.records.pools.require(kind, pool_key)
        candidates = self.store.filter_records(kind.name, pool_keys, record_filter)
        scored = isinstance(query, Scoring) and query.uses_algorithm
        scores = None
        if anchor is not None:
            scores = self.calibration(self._similarities(pool_keys, candidates, anchor))
        ranked = self._page(query, candidates, scores, scored)
        stored = self.store.load_records(candidates.ids[ranked.positions].tolist())
        items = self.records.materialize_many(kind, stored)
        predictions = None
        if scored and ranked.scores is not None:
            predictions = [[float(1.0 - s), float(s)] for s in ranked.scores]
        return Page(items, query.page, query.limit, ranked.total, predictions)

    def _similarities(self, pool_keys: list[str], candidates: Candidates, anchor: np.ndarray) -> np.ndarray:
        """Similarity of each candidate to the anchor; NaN where a candidate has no vector."""
        id_parts, sim_parts = [], []
        for pool_key in dict.fromkeys(pool_keys):
            ids, sims = self.registry.get(pool_key).similarities(anchor)
            id_parts.append(ids)
            sim_parts.append(sims)
        ids = np.concatenate(id_parts)
        sims = np.concatenate(sim_parts)
        order = np.argsort(ids, kind="stable")
        ids, sims = ids[order], sims[order]
        positions = np.searchsorted(ids, candidates.ids)
        found = positions < len(ids)
        found[found] = ids[positions[found]] == candidates.ids[found]
        out = np.full(len(candidates), np.nan, dtype=np.float32)
        out[found] = sims[positions[found]]
        return out

    def _page(self, query: Filtering, candidates: Candidates, scores: np.ndarray | None, scored: bool) -> Ranked:
        start = (query.page - 1) * query.limit
        mask = np.ones(len(candidates), dtype=bool)
        if scores is not None:
            mask &= ~np.isnan(scores)
            threshold = query.score_threshold if isinstance(query, Scoring) else None
            if scored and threshold is not None:
                mask &= scores >= threshold
        total = int(mask.sum())
        descending = query.order_by != "asc"
        if scores is not None and query.sort_by in ("scoring", "searching"):
            keys = scores if descending else -scores
            positions, _ = topk(keys, start + query.limit, mask)
            positions = positions[start:]
        else:
            dates = candidates.created_at_us if query.sort_by != "updated_at" else candidates.updated_at_us
            kept = np.flatnonzero(mask)
            order = order_by_date(candidates.ids[kept], dates[kept], descending)
            positions = kept[order[start : start + query.limit]]
        return Ranked(positions, scores[positions] if scores is not None else None, total)


def _record_filter(query: Filtering) -> RecordFilter:
    return RecordFilter(
        created_at_min_us=optional_timestamp(query.created_at_min, "created_at_min"),
        created_at_max_us=optional_timestamp(query.created_at_max, "created_at_max"),
        text_keywords=tuple(keyword.casefold() for keyword in query.text_keywords if keyword.strip()),
        name=query.name,
        tags_included=_cnf(query.tags_included),
        tags_excluded=_cnf(query.tags_excluded),
    )


def _cnf(groups: TagCnf) -> tuple[tuple[TagClause, ...], ...]:
    def clause(tag: Tag) -> TagClause:
        return TagClause(tag.name, tag_value(tag.value))

    return tuple(
        tuple(clause(tag) for tag in group) if isinstance(group, list) else (clause(group),)
        for group in groups
        if not isinstance(group, list) or group
    )
