"""Stereotype and overload bias probes of an algorithm version.

Stereotype bias: what a candidate's first name, gendered words or age alone do to their scores. Each probed
profile gets counterfactual copies (services/counterfactuals.py: first names of the audit studies' groups,
gendered words turned, birth year shifted), everything else held fixed; reported per edit: mean and p99
|Δscore|, the share of (job, profile) pairs whose top-k membership flips and how far ranks move.
Overload bias: across many jobs, how concentrated the top-k exposure is (the share of slots the top 1% of
profiles take, the Gini coefficient of exposure) and how the top-k scores drift with the pool's size.

Scores are the ranking routes' (each job is the anchor, as in `profiles/scoring`; the native re-ranker with
the version's fusion), computed for every allowed row of the sources without the retrieval cut, so ranks
are exact and a subsampled pool's top k is found among its own rows (scored with the whole pool's keyword
statistics: documents per term, mean length). A copy is described again as upskilling describes
its copies (features afresh, only changed views embedded: `RecordService.describe_edits`) and scored as the
profile's replacement among its source's rows (`index/columns.with_record_replaced`). Both results are
msgspec Structs that encode to plot-ready JSON (the fairness audit puts them in its report).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np

from cerebro_serve.cluster.shard_ranking import ShardRequest
from cerebro_serve.index.columns import ColumnArrays, with_record_replaced
from cerebro_serve.index.filters import RowFilter
from cerebro_serve.objects import JOB, PROFILE, Profile, RecordKind
from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.scoring.rerank import rerank
from cerebro_serve.services.anchors import Anchor, Anchors
from cerebro_serve.services.counterfactuals import (
    AUDIT_NAMES,
    AUDIT_NAMES_SOURCE,
    Gender,
    born_shifted,
    first_name_of,
    gendered,
    with_first_name,
)
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.pool_reads import PoolReads, Scored
from cerebro_serve.services.ranking import NOT_SCORABLE
from cerebro_serve.services.records import RecordService
from cerebro_serve.store import StoredRecord
from cerebro_serve.training.dataset import allows_learning

__all__ = ["EditEffect", "OverloadBias", "StereotypeBias", "gini", "overload_bias", "stereotype_bias", "top_share"]

TOP_K = 10
TOP_SHARE = 0.01  # overload: the share of the pool whose hold on the top-k slots is reported
POOL_FRACTIONS = (0.1, 0.25, 0.5, 1.0)
BIRTH_SHIFT = 20  # years
LORENZ_POINTS = 21  # 0%, 5%, ..., 100% of the pool
MOST_EXPOSED = 10
_FIRST_ROW = np.zeros(1, dtype=np.int64)

Progress = Callable[[float], None]  # told the share done; raising from it stops the probe


class EditEffect(msgspec.Struct, kw_only=True):
    """One counterfactual edit over the (job, profile) comparisons it applied to; Δ is the counterfactual
    copy's score minus the baseline copy's. Statistics are null when the edit applied to no profile."""

    edit: str  # first_name_gender, first_name_ethnicity, gendered_words, birth_year
    baseline: str
    counterfactual: str
    profiles: int  # profiles it applied to (with a first name, a gendered word, a birth year)
    comparisons: int  # (job, profile, name pair) comparisons
    mean_abs_delta: float | None = None
    p99_abs_delta: float | None = None
    max_abs_delta: float | None = None
    mean_delta: float | None = None
    counterfactual_higher: float | None = None  # share of comparisons
    baseline_higher: float | None = None
    top_k_flips: float | None = None  # share of comparisons in the job's top k on one side only
    mean_rank_shift: float | None = None  # mean |rank change| (among near-equal low scores, a tiny Δ moves far)
    top_k_rank_shift: float | None = None  # the same over comparisons in the top k on either side
    max_rank_shift: int | None = None


class StereotypeBias(msgspec.Struct, kw_only=True):
    algorithm_key: str
    algorithm_version: int
    jobs: int
    profiles: int  # probed (a seeded sample of the sources' profiles open to audits)
    without_consent: int  # drawn, then left out: their consent keeps them out of audits (no copy made)
    pool_size: int  # profiles each job ranks
    top_k: int
    names_source: str
    effects: list[EditEffect]


class ExposedProfile(msgspec.Struct, kw_only=True):
    profile_key: str
    source_key: str
    slots: int
    exposure: float  # position-discounted: the sum of 1 / log2(1 + rank) over its slots


class PoolSizeDrift(msgspec.Struct, kw_only=True):
    """The jobs' top-k scores when each ranks a random `fraction` of the pool (nested subsamples; each
    row keeps its score in the whole pool): how much the best scores owe to the pool's size."""

    fraction: float
    pool_size: int
    mean: float
    p50: float
    p90: float
    top1_mean: float


class OverloadBias(msgspec.Struct, kw_only=True):
    algorithm_key: str
    algorithm_version: int
    jobs: int
    pool_size: int
    top_k: int
    slots: int  # top-k slots over all jobs
    profiles_shown: int  # profiles in at least one job's top k
    top_profiles: int  # the top 1% of the pool (at least one profile)
    top_share: float  # share of the slots the top 1% most shown profiles take
    top_share_discounted: float  # the same on position-discounted exposure
    gini: float  # of slot counts over every profile of the pool
    gini_discounted: float
    lorenz: list[float]  # share of slots held by the least shown 0%, 5%, ..., 100% of the pool
    most_exposed: list[ExposedProfile]
    drift: list[PoolSizeDrift]


def gini(values: np.ndarray) -> float:
    """The Gini coefficient of non-negative values: 0 when all are equal, (n - 1) / n when one holds all."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    total = x.sum()
    if not len(x) or total == 0:
        return 0.0
    n = len(x)
    return float(2.0 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n)


def top_share(values: np.ndarray, share: float = TOP_SHARE) -> float:
    """The part of the total held by the largest `share` of the values (at least one value)."""
    x = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    total = x.sum()
    return float(x[: _top_count(len(x), share)].sum() / total) if total else 0.0


def stereotype_bias(
    records: RecordService,
    reads: PoolReads,
    algorithm: Algorithm,
    board_keys: Sequence[str],
    source_keys: Sequence[str],
    *,
    max_jobs: int = 20,
    max_profiles: int = 200,
    top_k: int = TOP_K,
    names: Mapping[tuple[str, Gender], tuple[str, ...]] = AUDIT_NAMES,
    names_source: str = AUDIT_NAMES_SOURCE,
    seed: int = 0,
    progress: Progress | None = None,
) -> StereotypeBias:
    """Counterfactual edits of up to `max_profiles` profiles of the sources (a seeded sample of those whose
    consent opens them to audits, `training.dataset.allows_learning`), each scored against up to `max_jobs`
    jobs of the boards, every job ranking all the sources' profiles a ranking may show.
    `names`: first names by (group, gender); the first group is the baseline of the ethnicity swap.
    Costs one encoder call per profile (its copies' changed views) and copies x jobs re-ranker calls."""
    rng = np.random.default_rng(seed)
    anchors = Anchors(records.store, records, records.registry)
    jobs = [anchors.of(JOB, stored, algorithm) for stored in _jobs(records, reads, board_keys, max_jobs, rng)]
    pools = _profile_pools(records, reads, source_keys)
    ranked = [_Ranked.of(reads, pools, job) for job in jobs]
    shuffled = rng.permutation(np.sort(np.concatenate([pool.record_ids for pool in pools])))
    probed, without_consent = _consenting(records, shuffled.tolist(), max_profiles)
    if not jobs or not probed:
        raise InvalidParameters("a stereotype probe needs at least one job and one profile open to audits")
    comparisons = _comparisons(names)
    tallies = [_Tally() for _ in comparisons]
    for number, (stored, profile) in enumerate(probed):
        copies, pairs = _counterfactuals(profile, names, rng)
        scores = _copy_scores(records, anchors, reads, stored, copies, jobs)
        own_scores = [ranking.score_of(stored) for ranking in ranked]
        for comparison in {pair[0] for pair in pairs}:
            tallies[comparison].profiles += 1
        for comparison, baseline, counterfactual in pairs:
            tally = tallies[comparison]
            tally.deltas.append(scores[counterfactual] - scores[baseline])
            for ranking, own, a, b in zip(ranked, own_scores, scores[baseline], scores[counterfactual]):
                tally.ranks.append((ranking.rank(own, a), ranking.rank(own, b)))
        if progress is not None:
            progress((number + 1) / len(probed))
    return StereotypeBias(
        algorithm_key=algorithm.name,
        algorithm_version=algorithm.version,
        jobs=len(jobs),
        profiles=len(probed),
        without_consent=without_consent,
        pool_size=sum(len(pool.record_ids) for pool in pools),
        top_k=top_k,
        names_source=names_source,
        effects=[_effect(comparison, tally, top_k) for comparison, tally in zip(comparisons, tallies)],
    )


def overload_bias(
    records: RecordService,
    reads: PoolReads,
    algorithm: Algorithm,
    board_keys: Sequence[str],
    source_keys: Sequence[str],
    *,
    max_jobs: int = 500,
    top_k: int = TOP_K,
    seed: int = 0,
    progress: Progress | None = None,
) -> OverloadBias:
    """Exposure of the sources' allowed profiles in the top k of up to `max_jobs` jobs of the boards (a
    seeded sample), and the top-k scores when each job ranks nested random subsamples of the pool."""
    rng = np.random.default_rng(seed)
    anchors = Anchors(records.store, records, records.registry)
    jobs = [anchors.of(JOB, stored, algorithm) for stored in _jobs(records, reads, board_keys, max_jobs, rng)]
    pools = _profile_pools(records, reads, source_keys)
    record_ids = np.concatenate([pool.record_ids for pool in pools])
    size = len(record_ids)
    if not jobs or not size:
        raise InvalidParameters("an overload probe needs at least one job and one allowed profile")
    order = rng.permutation(size)
    subsamples = [order[: max(1, round(fraction * size))] for fraction in POOL_FRACTIONS]
    slots = np.zeros(size, dtype=np.int64)
    exposure = np.zeros(size, dtype=np.float64)
    tops: list[list[np.ndarray]] = [[] for _ in POOL_FRACTIONS]
    for number, job in enumerate(jobs):
        scores = np.concatenate([_pool_scores(reads, pool, job).scores for pool in pools])
        best = np.lexsort((record_ids, -scores))[:top_k]  # as the ranking breaks ties: by record id
        slots[best] += 1
        exposure[best] += 1.0 / np.log2(2.0 + np.arange(len(best)))
        for kept, subsample in zip(tops, subsamples):
            kept.append(np.sort(scores[subsample])[::-1][:top_k])
        if progress is not None:
            progress((number + 1) / len(jobs))
    ascending = np.cumsum(np.sort(slots)) / slots.sum()
    at = np.round(np.linspace(0, size, LORENZ_POINTS)).astype(np.int64)
    return OverloadBias(
        algorithm_key=algorithm.name,
        algorithm_version=algorithm.version,
        jobs=len(jobs),
        pool_size=size,
        top_k=top_k,
        slots=int(slots.sum()),
        profiles_shown=int(np.count_nonzero(slots)),
        top_profiles=_top_count(size, TOP_SHARE),
        top_share=top_share(slots),
        top_share_discounted=top_share(exposure),
        gini=gini(slots),
        gini_discounted=gini(exposure),
        lorenz=[0.0 if i == 0 else float(ascending[i - 1]) for i in at],
        most_exposed=_most_exposed(records, record_ids, slots, exposure),
        drift=[
            _drift(fraction, len(subsample), kept)
            for fraction, subsample, kept in zip(POOL_FRACTIONS, subsamples, tops)
        ],
    )


# -- pools and rankings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pool:
    """A source's rows a ranking may show (alive, consent given) as the probe began, by record id."""

    key: str
    record_ids: np.ndarray  # ascending


def _profile_pools(records: RecordService, reads: PoolReads, source_keys: Sequence[str]) -> list[_Pool]:
    allowed = RowFilter(refused=NOT_SCORABLE)
    return [_Pool(key, reads.allowed_ids(key, allowed)) for key in _checked_keys(records, PROFILE, source_keys)]


def _pool_scores(reads: PoolReads, pool: _Pool, anchor: Anchor) -> Scored:
    """The anchor's scores of the pool's rows as the probe began (a row deleted since scores 0)."""
    assert anchor.query is not None and anchor.algorithm is not None
    request = ShardRequest(anchor.vector, RowFilter(refused=NOT_SCORABLE), None, anchor.query, anchor.algorithm)
    scored = reads.scored(pool.key, request)
    scores = np.zeros(len(pool.record_ids), dtype=np.float32)
    found = np.searchsorted(pool.record_ids, scored.record_ids)
    kept = found < len(pool.record_ids)
    kept[kept] = pool.record_ids[found[kept]] == scored.record_ids[kept]
    scores[found[kept]] = scored.scores[kept]
    return Scored(pool.record_ids, scores, None)


@dataclass(frozen=True, slots=True)
class _Ranked:
    """One job's scores of every allowed profile: where a score would rank among the others."""

    by_pool: dict[str, Scored]
    ascending: np.ndarray  # all of them

    @classmethod
    def of(cls, reads: PoolReads, pools: list[_Pool], anchor: Anchor) -> _Ranked:
        by_pool = {pool.key: _pool_scores(reads, pool, anchor) for pool in pools}
        everything = [scored.scores for scored in by_pool.values()]
        return cls(by_pool, np.sort(np.concatenate(everything)) if everything else np.empty(0, np.float32))

    def score_of(self, stored: StoredRecord) -> float:
        """The profile's own score in the job's ranking (it is left out when ranking its copies)."""
        score = self.by_pool[stored.pool_key].score_of(stored.id)
        assert score is not None
        return score

    def rank(self, own: float, score: float) -> int:
        """1 + the other profiles scoring above `score` (`own`: the profile's own score, not an other)."""
        above = len(self.ascending) - int(np.searchsorted(self.ascending, np.float32(score), side="right"))
        return 1 + above - int(np.float32(own) > np.float32(score))


def _checked_keys(records: RecordService, kind: RecordKind, keys: Sequence[str]) -> list[str]:
    if not keys:
        raise InvalidParameters(f"name at least one {kind.pool}")
    for key in keys:
        records.pools.require(kind, key)
    return list(dict.fromkeys(keys))


def _jobs(
    records: RecordService, reads: PoolReads, board_keys: Sequence[str], most: int, rng: np.random.Generator
) -> list[StoredRecord]:
    """Up to `most` of the boards' live jobs, drawn at random (seeded)."""
    ids = [reads.allowed_ids(key, RowFilter()) for key in _checked_keys(records, JOB, board_keys)]
    drawn = rng.permutation(np.sort(np.concatenate(ids)))[:most]
    return records.store.records.load_records(np.sort(drawn).tolist())


def _consenting(records: RecordService, ids: list[int], most: int) -> tuple[list[tuple[StoredRecord, Profile]], int]:
    """The first `most` of these profiles whose consent opens them to audits, and how many were passed over."""
    kept: list[tuple[StoredRecord, Profile]] = []
    passed = 0
    step = max(1, most)
    for start in range(0, len(ids), step):
        for stored in records.store.records.load_records(ids[start : start + step]):
            profile = records.materialize(PROFILE, stored)
            if not allows_learning(profile):
                passed += 1
                continue
            kept.append((stored, profile))
            if len(kept) == most:
                return kept, passed
    return kept, passed


# -- counterfactual copies -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Comparison:
    edit: str
    baseline: str
    counterfactual: str


@dataclass
class _Tally:
    profiles: int = 0
    deltas: list[np.ndarray] = field(default_factory=list)
    ranks: list[tuple[int, int]] = field(default_factory=list)  # (baseline, counterfactual) per comparison


def _groups(names: Mapping[tuple[str, Gender], tuple[str, ...]]) -> list[str]:
    return list(dict.fromkeys(group for group, _ in names))


def _comparisons(names: Mapping[tuple[str, Gender], tuple[str, ...]]) -> list[_Comparison]:
    """Fixed order: the gender swap of first names, one ethnicity swap per group after the first,
    gendered words, birth year earlier, birth year later (what `_counterfactuals` numbers them)."""
    first, *others = _groups(names)
    return [
        _Comparison("first_name_gender", "female first names", "male first names"),
        *(_Comparison("first_name_ethnicity", f"{first} first names", f"{group} first names") for group in others),
        _Comparison("gendered_words", "masculine words", "feminine words"),
        _Comparison("birth_year", "as written", f"born {BIRTH_SHIFT} years earlier"),
        _Comparison("birth_year", "as written", f"born {BIRTH_SHIFT} years later"),
    ]


def _counterfactuals(
    profile: Profile, names: Mapping[tuple[str, Gender], tuple[str, ...]], rng: np.random.Generator
) -> tuple[list[Profile], list[tuple[int, int, int]]]:
    """The profile's copies (the profile itself first) and the (comparison, baseline copy, counterfactual
    copy) triples that apply to it. A name swap gives the profile one name drawn from each (group, gender)
    cell: the gender comparison pairs female and male names within each group, the ethnicity comparison
    the first group's name and another group's of the same gender."""
    first, *others = _groups(names)
    copies = [profile]
    pairs: list[tuple[int, int, int]] = []

    def add(copy: Profile) -> int:
        copies.append(copy)
        return len(copies) - 1

    if first_name_of(profile) is not None:
        cell = {key: add(with_first_name(profile, str(rng.choice(choices)))) for key, choices in names.items()}
        pairs += [(0, cell[group, "female"], cell[group, "male"]) for group in (first, *others)]
        pairs += [
            (number, cell[first, gender], cell[group, gender])
            for number, group in enumerate(others, start=1)
            for gender in ("female", "male")
        ]
    words = len(others) + 1
    masculine, feminine = gendered(profile, "male"), gendered(profile, "female")
    if masculine != feminine:
        pairs.append((words, add(masculine), add(feminine)))
    for number, shift in ((words + 1, -BIRTH_SHIFT), (words + 2, BIRTH_SHIFT)):
        shifted = born_shifted(profile, shift)
        if shifted != profile:
            pairs.append((number, 0, add(shifted)))
    return copies, pairs


def _copy_scores(
    records: RecordService,
    anchors: Anchors,
    reads: PoolReads,
    stored: StoredRecord,
    copies: list[Profile],
    jobs: list[Anchor],
) -> np.ndarray:
    """copies x jobs: each copy scored by each job as the profile's replacement among its source's rows."""
    views, features = anchors.vectors_of(stored.id, lambda: copies[0])
    described = records.describe_edits(copies[0], views, features, copies)
    statistics = reads.statistics(stored.pool_key)
    scores = np.zeros((len(copies), len(jobs)), dtype=np.float32)
    for number, (copy_views, copy_features) in enumerate(described):
        edited = with_record_replaced(statistics, features, copy_features, copy_views[1:])
        scores[number] = _replaced_scores(edited, copy_views[0], jobs)
    return scores


def _replaced_scores(edited: ColumnArrays, vector: np.ndarray, jobs: list[Anchor]) -> np.ndarray:
    scores = np.zeros(len(jobs), dtype=np.float32)
    for number, job in enumerate(jobs):
        assert job.query is not None and job.algorithm is not None
        cosine = (vector[None, :] @ job.vector).astype(np.float32)
        scores[number] = rerank(edited, job.query, job.algorithm, _FIRST_ROW, cosine, 1).scores[0]
    return scores


def _effect(comparison: _Comparison, tally: _Tally, top_k: int) -> EditEffect:
    effect = EditEffect(
        edit=comparison.edit,
        baseline=comparison.baseline,
        counterfactual=comparison.counterfactual,
        profiles=tally.profiles,
        comparisons=len(tally.ranks),
    )
    if not tally.ranks:
        return effect
    deltas = np.concatenate(tally.deltas).astype(np.float64)
    ranks = np.asarray(tally.ranks, dtype=np.int64)
    shifts = np.abs(ranks[:, 1] - ranks[:, 0])
    effect.mean_abs_delta = float(np.mean(np.abs(deltas)))
    effect.p99_abs_delta = float(np.percentile(np.abs(deltas), 99))
    effect.max_abs_delta = float(np.max(np.abs(deltas)))
    effect.mean_delta = float(np.mean(deltas))
    effect.counterfactual_higher = float(np.mean(deltas > 0))
    effect.baseline_higher = float(np.mean(deltas < 0))
    effect.top_k_flips = float(np.mean((ranks[:, 0] <= top_k) != (ranks[:, 1] <= top_k)))
    effect.mean_rank_shift = float(np.mean(shifts))
    near_top = ranks.min(axis=1) <= top_k
    effect.top_k_rank_shift = float(np.mean(shifts[near_top])) if near_top.any() else None
    effect.max_rank_shift = int(np.max(shifts))
    return effect


# -- exposure --------------------------------------------------------------------------------------


def _top_count(size: int, share: float) -> int:
    return max(1, int(np.ceil(size * share - 1e-9)))


def _most_exposed(
    records: RecordService, record_ids: np.ndarray, slots: np.ndarray, exposure: np.ndarray
) -> list[ExposedProfile]:
    shown = np.flatnonzero(slots)
    top = shown[np.lexsort((record_ids[shown], -exposure[shown], -slots[shown]))][:MOST_EXPOSED]
    stored = {record.id: record for record in records.store.records.load_records(record_ids[top].tolist())}
    return [
        ExposedProfile(
            profile_key=stored[int(record_ids[i])].key,
            source_key=stored[int(record_ids[i])].pool_key,
            slots=int(slots[i]),
            exposure=float(exposure[i]),
        )
        for i in top
    ]


def _drift(fraction: float, size: int, tops: list[np.ndarray]) -> PoolSizeDrift:
    scores = np.concatenate(tops).astype(np.float64)
    return PoolSizeDrift(
        fraction=fraction,
        pool_size=size,
        mean=float(np.mean(scores)),
        p50=float(np.percentile(scores, 50)),
        p90=float(np.percentile(scores, 90)),
        top1_mean=float(np.mean([top[0] for top in tops])),
    )
