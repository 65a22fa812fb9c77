"""Scoring (profiles for a job, jobs for a profile), matching and searching, on one path per pool:

1. filters become a row mask over the pool's feature columns (tags, dates, radius, archived; keyword and
   name filters come from SQL as a set of ids);
2. the vector index returns the `RERANK_DEPTH` rows nearest the anchor's full-text vector among those the
   mask allows (exact, or IVF with the mask pushed into the search);
3. the native re-ranker scores them with the algorithm's fusion of structured features and keeps the
   page's top-k; pools are merged by score.
Searching (and `use_algorithm=0`) stops after step 2, with calibrated similarities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cerebro_serve.cluster.pool_shards import PoolShards
from cerebro_serve.cluster.shard_ranking import ShardListing, ShardRequest, merge, merge_by_date
from cerebro_serve.engine import Encoder
from cerebro_serve.index import IndexRegistry
from cerebro_serve.index.filters import GeoFilter, RowFilter, row_mask
from cerebro_serve.index.topk import order_by_date
from cerebro_serve.index.vector_index import SearchResult
from cerebro_serve.objects import JOB, PROFILE, RecordKind
from cerebro_serve.parsing.languages import language_code
from cerebro_serve.parsing.levels import language_level, skill_level
from cerebro_serve.record_features import REFUSES_EMBEDDING, REFUSES_SCORING, REFUSES_SEARCHING
from cerebro_serve.scoring import Calibration
from cerebro_serve.scoring.algorithms import MATCHING_ALGORITHM, Algorithm
from cerebro_serve.scoring.features import language_bit
from cerebro_serve.scoring.rerank import rerank
from cerebro_serve.services.algorithms import AlgorithmService, Resolved
from cerebro_serve.services.anchors import Anchor, Anchors
from cerebro_serve.services.errors import InvalidParameters, from_shards
from cerebro_serve.services.explanations import ExplanationService
from cerebro_serve.services.pages import Page
from cerebro_serve.services.queries import (
    Filtering,
    JobsMatchingQuery,
    JobsScoringQuery,
    JobsSearchingQuery,
    NamedFilter,
    PeriodGeopoint,
    ProfilesMatchingQuery,
    ProfilesScoringQuery,
    ProfilesSearchingQuery,
    RecordLookup,
    Scoring,
    Tag,
    TagCnf,
)
from cerebro_serve.services.raw_filters import RawFilters
from cerebro_serve.services.record_facets import fold_name, skill_concept
from cerebro_serve.services.records import RecordService, tag_value
from cerebro_serve.services.timestamps import optional_timestamp
from cerebro_serve.services.usage import ScoringRecorder
from cerebro_serve.store import FacetFilter, PlaceFilter, RecordFilter, SqlStore, TagClause
from cerebro_serve.store.algorithm_stops import StoredStop
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import ScoringCall
from cerebro_serve.store.records import (
    EDUCATION_PLACE,
    EDUCATION_YEARS,
    EXPERIENCE_PLACE,
    INTEREST,
    LANGUAGE_LEVEL,
    RANGE_DATE,
    RANGE_FLOAT,
    SKILL_LEVEL,
)
from cerebro_serve.timing import stage

# Candidates the re-ranker sees per pool: structured features can lift a record this far down the
# similarity order to the top (bench/bench_scale.py measures the cost).
RERANK_DEPTH = 1000
# Consent refusals that keep a record from being scored: scoring itself, or the vectors a score needs.
NOT_SCORABLE = REFUSES_SCORING | REFUSES_EMBEDDING
# HrFlow's stage of a candidate nobody has staged for the job yet.
NEW_STAGE = "new"


@dataclass(frozen=True, slots=True)
class Hits:
    """One pool's part of a ranking: by relevance (best first, scored) or every allowed row (by date)."""

    pool_key: str
    rows: np.ndarray | None  # in this process's index of the pool; None when its shards ranked it
    record_ids: np.ndarray
    scores: np.ndarray | None
    total: int
    dates: np.ndarray | None = None
    missing_shards: tuple[str, ...] = ()  # shards left out of the ranking (`allow_partial`)


class RankingService:
    def __init__(
        self,
        store: SqlStore,
        records: RecordService,
        encoder: Encoder,
        registry: IndexRegistry,
        calibration: Calibration,
        algorithms: AlgorithmService,
        matching: Algorithm,
        recorder: ScoringRecorder,
        anchors: Anchors,
        explanations: ExplanationService,
        shards: PoolShards | None = None,
    ) -> None:
        """`shards`: rank pools by relevance in shards (a cluster's) rather than in this process's index."""
        self.store = store
        self.records = records
        self.encoder = encoder
        self.registry = registry
        self.calibration = calibration
        self.algorithms = algorithms
        self.matching = matching
        self.recorder = recorder
        self.anchors = anchors
        self.explanations = explanations
        self.shards = shards

    def score_profiles(self, query: ProfilesScoringQuery) -> Page:
        resolved = self._scoring_algorithm(query)
        algorithm = resolved.algorithm if resolved else None
        page = self._rank(
            PROFILE,
            query.source_keys,
            query,
            lambda: self.anchors.stored(JOB, query.board_key, query.job_key, query.job_reference, algorithm),
            endpoint="profiles/scoring",
            stopped=resolved.stopped if resolved else None,
        )
        return self._with_manual_review(page, query) if query.include_manual else page

    def score_jobs(self, query: JobsScoringQuery) -> Page:
        resolved = self._scoring_algorithm(query)
        algorithm = resolved.algorithm if resolved else None
        return self._rank(
            JOB,
            query.board_keys,
            query,
            lambda: self.anchors.stored(
                PROFILE, query.source_key, query.profile_key, query.profile_reference, algorithm
            ),
            endpoint="jobs/scoring",
            stopped=resolved.stopped if resolved else None,
        )

    def match_profiles(self, query: ProfilesMatchingQuery) -> Page:
        return self._rank(
            PROFILE,
            query.source_keys or [query.source_key],
            query,
            lambda: self.anchors.stored(
                PROFILE, query.source_key, query.profile_key, query.profile_reference, self._matching(), matching=True
            ),
        )

    def match_jobs(self, query: JobsMatchingQuery) -> Page:
        return self._rank(
            JOB,
            query.board_keys or [query.board_key],
            query,
            lambda: self.anchors.stored(
                JOB, query.board_key, query.job_key, query.job_reference, self._matching(), matching=True
            ),
        )

    def search_profiles(self, query: ProfilesSearchingQuery) -> Page:
        return self._rank(PROFILE, query.source_keys, query, lambda: self._keyword_anchor(query), REFUSES_SEARCHING)

    def search_jobs(self, query: JobsSearchingQuery) -> Page:
        return self._rank(JOB, query.board_keys, query, lambda: self._keyword_anchor(query), REFUSES_SEARCHING)

    # -- anchors -----------------------------------------------------------------------------------

    def _scoring_algorithm(self, query: ProfilesScoringQuery | JobsScoringQuery) -> Resolved | None:
        """The fusion that answers (the named algorithm's active version, else the workspace default, or
        what stands in for a stopped one); None when the caller asked for search-only (`use_algorithm=0`)."""
        return self.algorithms.resolve(query.algorithm_key or query.agent_key) if query.uses_algorithm else None

    def _matching(self) -> Algorithm:
        """cerebro-match, unless an admin stopped it: nothing else ranks like against like, so a stop
        refuses matching whatever its fallback."""
        self.algorithms.require_serving(MATCHING_ALGORITHM)
        return self.matching

    def _keyword_anchor(self, query: Filtering) -> Anchor | None:
        """Searching sorted by relevance ranks by similarity to the keywords; otherwise it lists."""
        if query.sort_by not in ("scoring", "searching"):
            return None
        if not query.text_keywords:
            raise InvalidParameters("sorting a search by relevance needs `text_keywords`")
        return Anchor(self.encoder.embed_documents([" ".join(query.text_keywords)])[0], None)

    # -- ranking -----------------------------------------------------------------------------------

    def _rank(
        self,
        kind: RecordKind,
        pool_keys: list[str],
        query: Filtering,
        find_anchor: Callable[[], Anchor | None],
        refused: int = NOT_SCORABLE,
        endpoint: str | None = None,
        stopped: StoredStop | None = None,
    ) -> Page:
        """Filters are read (and refused) before the anchor is looked up, pools before either. Records whose
        consent withholds this use (`refused`: scoring, or searching), or, against an anchor, withholds the
        vectors a similarity needs, never enter the mask. A scoring
        `endpoint` records which algorithm version answered; `stopped`: the stopped algorithm it stands in for."""
        if not pool_keys:
            raise InvalidParameters(f"`{kind.pool}_keys` must name at least one {kind.pool}")
        for pool_key in pool_keys:
            self.records.pools.require(kind, pool_key)
        with stage("filter"):
            row_filter = dataclasses.replace(self._row_filter(kind, pool_keys, query), refused=refused)
        with stage("anchor"):
            anchor = find_anchor()
        if anchor is not None:
            row_filter = dataclasses.replace(row_filter, refused=refused | REFUSES_EMBEDDING)
        if anchor is not None and anchor.excluded_id is not None:
            row_filter = dataclasses.replace(row_filter, excluded_ids=np.array([anchor.excluded_id]))
        if query.stage:
            counterpart = anchor.stored if anchor is not None else None
            counterpart_id = counterpart.id if counterpart is not None and counterpart.kind != kind.name else None
            row_filter = self._staged(row_filter, kind, query.stage, counterpart_id)
        start, wanted = (query.page - 1) * query.limit, query.page * query.limit
        threshold = getattr(query, "score_threshold", None)
        by_relevance = anchor is not None and query.sort_by in ("scoring", "searching")
        parts = [
            self._rank_pool(pool_key, row_filter, anchor, wanted, threshold, by_relevance, query)
            for pool_key in dict.fromkeys(pool_keys)
        ]
        ids = np.concatenate([part.record_ids for part in parts]) if parts else np.empty(0, np.int64)
        total = sum(part.total for part in parts)
        page_scores: np.ndarray | None
        if by_relevance:
            scores = np.concatenate([part.scores for part in parts])
            ranking = -scores if query.order_by != "asc" else scores
            order = np.lexsort((ids, ranking))[start:wanted]
            page_ids, page_scores = ids[order], scores[order]
        else:
            dates = np.concatenate([part.dates for part in parts])
            order = order_by_date(ids, dates, query.order_by != "asc")[start:wanted]
            page_ids = ids[order]
            page_scores = self._scores_at(parts, order, anchor) if anchor and anchor.algorithm else None
        with stage("load"):
            items = self.records.materialize_many(kind, self.store.records.load_records(page_ids.tolist()))
        predictions = None
        if page_scores is not None and anchor is not None and anchor.query is not None:
            predictions = [[float(1.0 - s), float(s)] for s in page_scores]
        answered = anchor.algorithm if anchor is not None and anchor.algorithm is not None else None
        meta = Resolved(answered, stopped).meta if answered else None
        missing = [{"pool_key": part.pool_key, "shard": shard} for part in parts for shard in part.missing_shards]
        if missing:  # the caller allowed it: say exactly what the ranking lacks
            meta = {**(meta or {}), "partial": {"missing_shards": missing}}
        if answered is not None and endpoint is not None and anchor is not None and anchor.key is not None:
            self.recorder.record(
                ScoringCall(answered.name, answered.version, endpoint, anchor.key, len(items), now_us()),
                page_scores if page_scores is not None else np.empty(0),
            )
        explanations = None
        if isinstance(query, Scoring) and query.explain and anchor is not None:
            with stage("explain"):
                explanations = self.explanations.of_page(anchor, kind, items, query.output_lang)
        return Page(items, query.page, query.limit, total, predictions, meta, explanations)

    def _with_manual_review(self, page: Page, query: ProfilesScoringQuery) -> Page:
        """The scored page, continued (paging runs on across both) by the profiles that pass the filters
        but whose consent refuses scoring or embedding: for a person to review, with no score, never one
        made up. The score threshold cannot apply to them; they come newest first (`order_by=asc`: oldest)."""
        row_filter = self._row_filter(PROFILE, query.source_keys, query)
        row_filter = dataclasses.replace(row_filter, refusing=NOT_SCORABLE)
        if query.stage:
            job = self.records.find(
                JOB, query.board_key, RecordLookup(key=query.job_key, reference=query.job_reference)
            )
            row_filter = self._staged(row_filter, PROFILE, query.stage, job.id)
        first = max(0, (query.page - 1) * query.limit - page.total)
        wanted = first + query.limit - len(page.items)
        parts = [
            self._rank_pool(pool_key, row_filter, None, wanted, None, False, query)
            for pool_key in dict.fromkeys(query.source_keys)
        ]
        manual_ids = np.concatenate([part.record_ids for part in parts])
        dates = np.concatenate([part.dates for part in parts if part.dates is not None])
        chosen = order_by_date(manual_ids, dates, query.order_by != "asc")[first:wanted]
        manual = self.records.materialize_many(PROFILE, self.store.records.load_records(manual_ids[chosen].tolist()))
        scored, waiting = len(page.items), sum(part.total for part in parts)
        return dataclasses.replace(
            page,
            items=page.items + manual,
            total=page.total + waiting,
            predictions=None if page.predictions is None else [*page.predictions, *[None] * len(manual)],
            explanations=None if page.explanations is None else page.explanations + [None] * len(manual),
            manual_review=[False] * scored + [True] * len(manual),
            extra_meta={**(page.extra_meta or {}), "scored": page.total, "manual_review": waiting},
        )

    def _rank_pool(
        self,
        pool_key: str,
        row_filter: RowFilter,
        anchor: Anchor | None,
        wanted: int,
        threshold: float | None,
        by_relevance: bool,
        query: Filtering,
    ) -> Hits:
        if self.shards is not None and by_relevance and anchor is not None:
            return self._rank_in_shards(self.shards, pool_key, row_filter, anchor, wanted, threshold, query)
        if self.shards is not None:
            return self._list_in_shards(self.shards, pool_key, row_filter, wanted, query)
        index = self.records.pool_index(pool_key)
        columns = index.columns.snapshot()
        with stage("mask"):
            mask = row_mask(columns, row_filter)
            allowed = int(np.count_nonzero(mask))
        wanted = min(wanted, allowed)  # a deep page of a small pool asks no index for more rows than exist
        if not by_relevance or anchor is None:
            rows = np.flatnonzero(mask)
            dates = (columns.updated_at_us if query.sort_by == "updated_at" else columns.created_at_us)[rows]
            return Hits(pool_key, rows, columns.record_ids[rows], None, allowed, dates)
        with stage("retrieve"):
            if query.order_by == "asc":
                # Worst first: every allowed row is scored (no index can find the least similar quickly).
                rows = np.flatnonzero(mask)
                found = SearchResult(rows, index.vectors.similarities(anchor.vector, rows), False)
                wanted = len(rows)
            elif anchor.query is None:
                found = index.vectors.search(anchor.vector, wanted, mask)
            else:
                found = index.vectors.search(anchor.vector, max(RERANK_DEPTH, wanted), mask)
        if anchor.query is None or anchor.algorithm is None:
            scores = self.calibration(found.similarities)
            kept = scores >= threshold if threshold is not None else np.ones(len(scores), dtype=bool)
            total = int(np.count_nonzero(kept)) if threshold is not None else allowed
            return Hits(pool_key, found.rows[kept], columns.record_ids[found.rows[kept]], scores[kept], total)
        with stage("rerank"):
            ranked = rerank(
                columns, anchor.query, anchor.algorithm, found.rows, found.similarities, wanted, threshold or 0.0
            )
        rows = found.rows[ranked.positions]
        total = ranked.passed if threshold is not None else allowed
        return Hits(pool_key, rows, columns.record_ids[rows], ranked.scores, total)

    def _rank_in_shards(
        self,
        shards: PoolShards,
        pool_key: str,
        row_filter: RowFilter,
        anchor: Anchor,
        wanted: int,
        threshold: float | None,
        query: Filtering,
    ) -> Hits:
        """`_rank_pool`'s answer by relevance, from the pool's shards: the same records, order and scores
        (shard_ranking.py says when)."""
        scoring = anchor.query is not None and anchor.algorithm is not None
        depth = None if query.order_by == "asc" else max(RERANK_DEPTH, wanted) if scoring else wanted
        request = ShardRequest(anchor.vector, row_filter, depth, anchor.query, anchor.algorithm)
        with stage("retrieve"):
            answers = from_shards(lambda: shards.rank(pool_key, request, query.allow_partial))
            found = merge(answers.hits, depth)
        missing = tuple(shard.name() for shard in answers.missing)
        if depth is None:  # worst first: every allowed row is scored, as one node does
            wanted = len(found.record_ids)
        if found.scores is None:
            scores = self.calibration(found.similarities)
            kept = scores >= threshold if threshold is not None else np.ones(len(scores), dtype=bool)
            total = int(np.count_nonzero(kept)) if threshold is not None else found.allowed
            return Hits(pool_key, None, found.record_ids[kept], scores[kept], total, missing_shards=missing)
        order = np.lexsort((found.record_ids, -found.scores))
        order = order[found.scores[order] >= (threshold or 0.0)]
        total = len(order) if threshold is not None else found.allowed
        order = order[:wanted]
        return Hits(pool_key, None, found.record_ids[order], found.scores[order], total, missing_shards=missing)

    def _list_in_shards(
        self, shards: PoolShards, pool_key: str, row_filter: RowFilter, wanted: int, query: Filtering
    ) -> Hits:
        """`_rank_pool`'s answer by date, from the pool's shards: each shard's first `wanted` rows."""
        listing = ShardListing(row_filter, query.sort_by == "updated_at", query.order_by != "asc", wanted)
        with stage("mask"):
            answers = from_shards(lambda: shards.by_date(pool_key, listing, query.allow_partial))
        found = merge_by_date(answers.hits, listing.descending)
        missing = tuple(shard.name() for shard in answers.missing)
        return Hits(pool_key, None, found.record_ids, None, found.allowed, found.dates, missing)

    def _scores_in_shards(self, shards: PoolShards, pool_key: str, anchor: Anchor, ids: np.ndarray) -> np.ndarray:
        """The scores of these records of a pool in shards (a page sorted by date shows them)."""
        request = ShardRequest(anchor.vector, RowFilter(), None, anchor.query, anchor.algorithm)
        answers = from_shards(lambda: shards.score(pool_key, request, ids))
        found: dict[int, float] = {}
        for part in answers.hits:
            scores = part.scores if part.scores is not None else self.calibration(part.similarities)
            found.update(zip(part.record_ids.tolist(), scores.tolist()))
        return np.array([found[record_id] for record_id in ids.tolist()], dtype=np.float32)

    def _scores_at(self, parts: list[Hits], positions: np.ndarray, anchor: Anchor) -> np.ndarray:
        """Scores of a page ordered by date: positions index the parts' hits laid end to end."""
        scores = np.zeros(len(positions), dtype=np.float32)
        bounds = np.cumsum([0] + [len(part.record_ids) for part in parts])
        for number, part in enumerate(parts):
            mine = np.flatnonzero((positions >= bounds[number]) & (positions < bounds[number + 1]))
            if not len(mine):
                continue
            if part.rows is None:  # ranked by the pool's shards
                assert self.shards is not None
                ids = part.record_ids[positions[mine] - bounds[number]]
                scores[mine] = self._scores_in_shards(self.shards, part.pool_key, anchor, ids)
                continue
            index = self.records.pool_index(part.pool_key)
            rows = part.rows[positions[mine] - bounds[number]]
            sims = index.vectors.similarities(anchor.vector, rows)
            if anchor.query is None or anchor.algorithm is None:
                scores[mine] = self.calibration(sims)
                continue
            ranked = rerank(index.columns.snapshot(), anchor.query, anchor.algorithm, rows, sims, len(rows))
            scores[mine[ranked.positions]] = ranked.scores
        return scores

    def _row_filter(self, kind: RecordKind, pool_keys: list[str], query: Filtering) -> RowFilter:
        years_min = _either("experience_duration_min", query.experience_duration_min, query.experiences_duration_min)
        years_max = _either("experience_duration_max", query.experience_duration_max, query.experiences_duration_max)
        if years_min is not None and years_max is not None and years_min > years_max:
            raise InvalidParameters("`experience_duration_min` is above `experience_duration_max`: nothing can pass")
        record_ids = None
        stored = self._store_filter(kind, query)
        if stored != RecordFilter():
            # Filters on text and on facets stay in SQL (their trigram and facet indexes); they narrow the
            # mask by id.
            record_ids = self.store.records.filter_records(kind.name, pool_keys, stored).ids
        condition = None
        if query.raw_filters is not None:

            def text_ids(wanted: RecordFilter) -> np.ndarray:
                return self.store.records.filter_records(kind.name, pool_keys, wanted).ids

            condition = RawFilters(text_ids, self._skill_concept).compile(query.raw_filters)
        return RowFilter(
            created_at_min_us=optional_timestamp(query.created_at_min, "created_at_min"),
            created_at_max_us=optional_timestamp(query.created_at_max, "created_at_max"),
            tags_included=_cnf(query.tags_included),
            tags_excluded=_cnf(query.tags_excluded),
            geo=_geo(query),
            record_ids=record_ids,
            years_min=years_min,
            years_max=years_max,
            skills=tuple(self._skill_concept(skill) for skill in query.skills),
            languages=_language_bits(query.languages),
            condition=condition,
        )

    def _store_filter(self, kind: RecordKind, query: Filtering) -> RecordFilter:
        """The request's filters the store answers: keywords (in the whole text or in one section), the
        name, interests, a job's named ranges, a profile's years of education and places."""
        for name in _JOB_FILTERS if kind is PROFILE else _PROFILE_FILTERS:
            if getattr(query, name) not in (None, []):
                raise InvalidParameters(f"`{name}` filters {'jobs' if kind is PROFILE else 'profiles'} only")
        sections = tuple(
            (section, keyword.strip().casefold())
            for section, keywords in (
                ("summary", query.summary_keywords),
                ("experiences", query.experience_keywords),
                ("educations", query.education_keywords),
            )
            for keyword in keywords
            if keyword.strip()
        )
        return RecordFilter(
            text_keywords=tuple(keyword.casefold() for keyword in query.text_keywords if keyword.strip()),
            name=query.name,
            section_keywords=sections,
            facets=(*_interests(query.interests), *self._levels(query), *_education_years(query), *_ranges(query)),
            places=tuple(
                place
                for kind_of_place, point, distance in (
                    (EXPERIENCE_PLACE, query.experience_location_geopoint, query.experience_location_distance),
                    (EDUCATION_PLACE, query.education_location_geopoint, query.education_location_distance),
                )
                if (place := _place(kind_of_place, point, distance)) is not None
            ),
        )

    def _staged(self, row_filter: RowFilter, kind: RecordKind, stage: str, counterpart_id: int | None) -> RowFilter:
        """Only the records whose pair with the counterpart (any, when None) last reached `stage` by a
        tracking; `new`: those never staged with it (or staged back to `new`)."""
        latest = self.store.learning.latest_actions(kind.name, counterpart_id)
        if stage != NEW_STAGE:
            reached = np.unique(
                np.array([record_id for record_id, action in latest if action == stage], dtype=np.int64)
            )
            if row_filter.record_ids is not None:
                reached = np.intersect1d(reached, row_filter.record_ids, assume_unique=True)
            return dataclasses.replace(row_filter, record_ids=reached)
        at_new = {record_id for record_id, action in latest if action == NEW_STAGE}
        staged = np.array(sorted({record_id for record_id, _ in latest} - at_new), dtype=np.int64)
        if row_filter.excluded_ids is not None:
            staged = np.union1d(staged, row_filter.excluded_ids)
        return dataclasses.replace(row_filter, excluded_ids=staged)

    def _skill_concept(self, skill: NamedFilter) -> int:
        """The concept a `skills` filter names, hashed as records' skill features are: its taxonomy id, or
        the concept its name is one surface form of, or else the name itself (as a record that lists it)."""
        concept = skill_concept(self.records.extractor, skill.name, skill.taxonomy_id)
        if concept is None:
            raise InvalidParameters("each `skills` filter names a skill: give `name` or `taxonomy_id`")
        return concept

    def _levels(self, query: Filtering) -> list[FacetFilter]:
        """The minimum levels a `skills` or `languages` filter asks for (`value`)."""
        wanted = []
        for skill in query.skills:
            if skill.value not in (None, ""):
                level = _read_level(skill_level, skill.value, "skills", "beginner, intermediate, advanced, expert")
                wanted.append(FacetFilter(SKILL_LEVEL, str(self._skill_concept(skill)), level))
        for language in query.languages:
            code = language_code(language.name or "")
            if language.value not in (None, "") and code is not None:
                level = _read_level(language_level, language.value, "languages", "A1 to C2, fluent, native")
                wanted.append(FacetFilter(LANGUAGE_LEVEL, code, level))
        return wanted


def _either(name: str, value: float | None, legacy: float | None) -> float | None:
    """A filter given in HrFlow's spelling or its legacy plural one (`experiences_...`), not both apart."""
    if value is not None and legacy is not None and value != legacy:
        plural = name.replace("experience_", "experiences_")
        raise InvalidParameters(f"`{name}` and `{plural}` (its legacy spelling) disagree: give one")
    return value if value is not None else legacy


# Filters that read what only profiles have (experiences and educations), and what only jobs have.
_PROFILE_FILTERS = (
    *(f"{part}_{name}" for part in ("experience", "education") for name in ("keywords", "location_geopoint")),
    *(f"{part}_location_distance" for part in ("experience", "education")),
    *(f"{spelling}_duration_{end}" for spelling in ("education", "educations") for end in ("min", "max")),
)
_JOB_FILTERS = ("ranges_float", "ranges_date")


def _interests(interests: list[NamedFilter]) -> list[FacetFilter]:
    wanted = []
    for interest in interests:
        _refuse_level(interest, "interests")
        if not interest.name or not fold_name(interest.name):
            raise InvalidParameters("each `interests` filter names an interest: give `name`")
        wanted.append(FacetFilter(INTEREST, fold_name(interest.name)))
    return wanted


def _education_years(query: Filtering) -> list[FacetFilter]:
    low = _either("education_duration_min", query.education_duration_min, query.educations_duration_min)
    high = _either("education_duration_max", query.education_duration_max, query.educations_duration_max)
    if low is None and high is None:
        return []
    if low is not None and high is not None and low > high:
        raise InvalidParameters("`education_duration_min` is above `education_duration_max`: nothing can pass")
    return [FacetFilter(EDUCATION_YEARS, None, low, high)]


def _ranges(query: Filtering) -> list[FacetFilter]:
    wanted = []
    for position, numbers in enumerate(query.ranges_float):
        low, high = numbers.value_min, numbers.value_max
        _check_range(f"ranges_float[{position}]", low, high)
        wanted.append(FacetFilter(RANGE_FLOAT, fold_name(numbers.name), low, high))
    for position, dates in enumerate(query.ranges_date):
        where = f"ranges_date[{position}]"
        low_us = optional_timestamp(dates.value_min, f"{where}.value_min")
        high_us = optional_timestamp(dates.value_max, f"{where}.value_max")
        _check_range(where, low_us, high_us)
        wanted.append(FacetFilter(RANGE_DATE, fold_name(dates.name), _float(low_us), _float(high_us)))
    return wanted


def _check_range(where: str, low: float | None, high: float | None) -> None:
    if low is None and high is None:
        raise InvalidParameters(f"`{where}` needs `value_min`, `value_max` or both")
    if low is not None and high is not None and low > high:
        raise InvalidParameters(f"`{where}`: `value_min` is above `value_max`: nothing can pass")


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def _place(kind: str, point: PeriodGeopoint | None, distance: float | None) -> PlaceFilter | None:
    prefix = kind.removesuffix("_place")
    if point is None and distance is None:
        return None
    if point is None or distance is None:
        raise InvalidParameters(
            f"a filter on the places of {prefix}s needs `{prefix}_location_geopoint` and `{prefix}_location_distance`"
        )
    lng = point.lon if point.lon is not None else point.lng
    if lng is None or (point.lon is not None and point.lng is not None and point.lon != point.lng):
        raise InvalidParameters(f"`{prefix}_location_geopoint` needs one longitude, `lon` (or `lng`)")
    return PlaceFilter(kind, point.lat, lng, distance)


def _read_level(read: Callable[[Any], int | None], value: Any, name: str, scale: str) -> int:
    level = read(value)
    if level is None:
        raise InvalidParameters(f"`{name}`: no level can be read in {value!r} (a minimum level: {scale}, or n/5)")
    return level


def _refuse_level(item: NamedFilter, name: str) -> None:
    if item.value not in (None, ""):
        raise InvalidParameters(
            f"`{name}` filters by name only: a minimum level (`value`) is not stored, so it cannot be applied"
        )


def _language_bits(languages: list[NamedFilter]) -> int:
    bits = 0
    for language in languages:
        bit = language_bit(language.name or "")
        if not bit:
            raise InvalidParameters(
                f"`languages`: unknown language {language.name!r} (name it in English, in its own language or "
                "by its ISO 639-1 code)"
            )
        bits |= bit
    return bits


def _geo(query: Filtering) -> GeoFilter | None:
    point = query.location_geopoint
    lat, lng = (point.lat, point.lng) if point is not None else (query.location_lat, query.location_lon)
    distance = query.location_distance if query.location_distance is not None else query.location_dist
    if lat is None and lng is None and distance is None:
        return None
    if lat is None or lng is None or distance is None:
        raise InvalidParameters(
            "a location filter needs a point (`location_geopoint`, or `location_lat` and `location_lon`) "
            "and a radius in km (`location_distance`)"
        )
    return GeoFilter(lat, lng, distance)


def _cnf(groups: TagCnf) -> tuple[tuple[TagClause, ...], ...]:
    def clause(tag: Tag) -> TagClause:
        return TagClause(tag.name, tag_value(tag.value))

    return tuple(
        tuple(clause(tag) for tag in group) if isinstance(group, list) else (clause(group),)
        for group in groups
        if not isinstance(group, list) or group
    )
