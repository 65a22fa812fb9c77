"""Pools in shards: a record's shard is a stable hash of its id, a shard's index holds exactly its records
and follows the store's writes, and ranking in shards answers as one node does (the same records in the
same order, scores equal to float32 rounding) for scoring both ways, searching, filters, thresholds,
pages and worst-first."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
import sqlalchemy as sa
from helpers import make_workspace, stop_workspace

from cerebro_serve.cluster.pool_shards import LocalShards, ShardNotReady
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.index.shards import Shard
from cerebro_serve.objects import JOB, PROFILE, Job, Profile
from cerebro_serve.services import Workspace
from cerebro_serve.services.queries import (
    JobsScoringQuery,
    PairQuery,
    PoolCreate,
    ProfilesScoringQuery,
    ProfilesSearchingQuery,
    RecordLookup,
)
from cerebro_serve.store import SqlStore, TagClause
from cerebro_serve.store.schema import records
from cerebro_serve.store.sharding import shard_number_sql, shard_numbers

SHARDS = 3
SKILLS = ["Python", "Django", "PostgreSQL", "Docker", "Kubernetes", "Java", "Spring", "React", "AWS", "Excel"]
ROLES = ["Backend developer", "Data engineer", "Frontend developer", "Accountant", "DevOps engineer", "Nurse"]
TEAMS = ["north", "south", "east"]
# Some people refuse their score or their vectors: they are never ranked, only listed for a person to review.
CONSENTS = {4: {"controller": {"scoring": False}}, 7: {"owner": {"embedding": False}}}


def test_a_records_shard_is_a_stable_even_hash_of_its_id() -> None:
    # Fixed for good: a release that moved records between shards would strand every index file (a shard's
    # directory names the hash, `store.sharding.HASH`, for the day it must change).
    assert shard_numbers(np.array([1, 2, 3, 4, 5, 1_000_000]), 8).tolist() == [3, 4, 5, 5, 1, 3]
    assert [Shard(n, 8).holds(1_000_000) for n in range(8)] == [n == 3 for n in range(8)]
    # Even for consecutive ids and for every id of a pool whose import interleaved with others'.
    for step in (1, 2, 4, 8):
        counts = np.bincount(shard_numbers(np.arange(1, 1 + step * 40_000, step), 4), minlength=4)
        assert counts.min() > 0.95 * 10_000 and counts.max() < 1.05 * 10_000
    with pytest.raises(ValueError, match="does not exist"):
        Shard(3, 3)


def test_the_store_computes_a_records_shard_as_numpy_does(store: SqlStore) -> None:
    """A shard reads only its own records: the store's SQL hash equals `shard_numbers` (near 2^63 too)."""
    ids = np.array([1, 2, 3, 97, 65_536, 2**31 - 2, 2**31 - 1, 2**31, 10**12 + 7, 2**62 + 11, 2**63 - 1])
    ids = np.concatenate([ids, np.random.default_rng(3).integers(1, 2**63 - 1, 300)])
    values = sa.union_all(*(sa.select(sa.literal(int(i), sa.BigInteger).label("id")) for i in ids)).subquery()
    for count in (3, 8):
        query = sa.select(values.c.id, shard_number_sql(values.c.id, count))
        with store.engine.connect() as connection:
            computed = {int(i): int(n) for i, n in connection.execute(query)}
        assert [computed[int(i)] for i in ids] == shard_numbers(ids, count).tolist()


def _profile(number: int, rng: random.Random) -> Profile:
    role = rng.choice(ROLES)
    skills = rng.sample(SKILLS, rng.randint(1, 4))
    years = rng.randint(0, 12)
    return msgspec.convert(
        {
            "reference": f"p{number}",
            "created_at": f"2026-{1 + number % 12:02d}-01T00:00:00+00:00",
            # The number keeps every text apart: two equal texts tie, and a tie's order between one node and
            # shards is float rounding (a shard's BLAS computes a similarity over fewer rows, in another order).
            "info": {"full_name": f"Person {number}", "summary": f"{role} {number} who likes {' and '.join(skills)}."},
            "experiences": [
                {"title": role, "company": "Acme", "date_start": f"{2024 - years}-01-01", "date_end": "2024-01-01"}
            ],
            "skills": [{"name": name, "type": "hard"} for name in skills],
            "tags": [{"name": "team", "value": TEAMS[number % len(TEAMS)]}],
            "consent_algorithmic": CONSENTS.get(number % 9, {}),
        },
        Profile,
    )


def _job(number: int, rng: random.Random) -> Job:
    role = ROLES[number % len(ROLES)]
    skills = rng.sample(SKILLS, 3)
    return msgspec.convert(
        {
            "reference": f"j{number}",
            "name": role,
            "summary": f"We need a {role.lower()} with {', '.join(skills)}.",
            "requirements": f"{number + 1} years as a {role.lower()}.",
            "skills": [{"name": name, "type": "hard"} for name in skills],
        },
        Job,
    )


def seed_pools(workspace: Workspace, profiles: int, jobs: int, seed: int = 7) -> tuple[str, str]:
    """A source of profiles and a board of jobs, varied in roles, skills, years, dates and teams."""
    rng = random.Random(seed)
    source = workspace.pools.create(PROFILE, PoolCreate(name="people")).key
    board = workspace.pools.create(JOB, PoolCreate(name="jobs")).key
    workspace.records.index(PROFILE, source, [_profile(number, rng) for number in range(profiles)])
    workspace.records.index(JOB, board, [_job(number, rng) for number in range(jobs)])
    return source, board


@pytest.fixture
def pools(workspace: Workspace) -> tuple[str, str]:
    return seed_pools(workspace, 60, 6)


@pytest.fixture
def sharded(store: SqlStore, workspace: Workspace, tmp_path: Path, admin_key: str) -> Iterator[Workspace]:
    """A second workspace on the same store whose rankings come from the pools' shards."""
    shards = LocalShards(store.url, vectors_tag(workspace.encoder.name), workspace.encoder.dimension, SHARDS)
    other = make_workspace(store, workspace.encoder, tmp_path / "sharded-indexes", admin_key, shards=shards)
    yield other
    stop_workspace(other)
    shards.close()


def _answer(page: Any) -> tuple[list[str | None], list[float | None] | None, int]:
    scores = None if page.predictions is None else [p and p[1] for p in page.predictions]  # None: no score
    return [item.reference for item in page.items], scores, page.total


def _assert_same(single: Any, sharded: Any) -> None:
    references, scores, total = _answer(single)
    sharded_references, sharded_scores, sharded_total = _answer(sharded)
    assert references, "the query ranks nothing: it shows nothing"
    assert sharded_references == references
    assert sharded_total == total
    if scores is None:
        assert sharded_scores is None
    else:
        assert sharded_scores is not None and [s is None for s in sharded_scores] == [s is None for s in scores]
        # Equal to float32 rounding: a shard's BLAS computes a similarity over fewer rows, in another order.
        scored = [(s, t) for s, t in zip(sharded_scores, scores) if s is not None]
        assert [s for s, _ in scored] == pytest.approx([t for _, t in scored], rel=1e-6, abs=1e-7)


PROFILE_QUERIES = [
    {},
    {"page": 2, "limit": 7},
    {"score_threshold": 0.5},
    {"order_by": "asc", "limit": 5},
    {"tags_included": [[{"name": "team", "value": "north"}, {"name": "team", "value": "east"}]]},
    {"tags_excluded": [{"name": "team", "value": "south"}], "created_at_min": "2026-04-01T00:00:00+00:00"},
    {"text_keywords": ["python"]},
    {"use_algorithm": False, "limit": 15},
    {"sort_by": "created_at", "limit": 12},  # by date, each with its score
    {"sort_by": "updated_at", "order_by": "asc", "page": 2, "limit": 9},
    {"sort_by": "created_at", "use_algorithm": False, "tags_included": [{"name": "team", "value": "south"}]},
    {"include_manual": True, "limit": 25, "page": 2},  # the scored page runs on into those to review
    {"include_manual": True, "sort_by": "updated_at", "limit": 60},
    {"skills": [{"name": "Python"}], "experience_duration_min": 3},
    {"sort_by": "created_at", "experiences_duration_max": 8, "skills": [{"name": "docker"}]},
]


@pytest.mark.parametrize("options", PROFILE_QUERIES, ids=lambda options: ",".join(options) or "plain")
def test_profiles_scored_in_shards_as_on_one_node(workspace, sharded, pools, options) -> None:
    source, board = pools
    for job in range(0, 6, 2):
        query = msgspec.convert(
            {
                "source_keys": [source],
                "board_key": board,
                "job_reference": f"j{job}",
                "sort_by": "scoring",
                "limit": 10,
            }
            | options,
            ProfilesScoringQuery,
        )
        _assert_same(workspace.ranking.score_profiles(query), sharded.ranking.score_profiles(query))


@pytest.mark.parametrize("options", [{}, {"score_threshold": 0.3}, {"page": 2, "limit": 2}])
def test_jobs_scored_in_shards_as_on_one_node(workspace, sharded, pools, options) -> None:
    source, board = pools
    for profile in (0, 10, 20, 30, 50):  # people who consent to their scores
        query = msgspec.convert(
            {"board_keys": [board], "source_key": source, "profile_reference": f"p{profile}", "sort_by": "scoring"}
            | options,
            JobsScoringQuery,
        )
        _assert_same(workspace.ranking.score_jobs(query), sharded.ranking.score_jobs(query))


def test_searching_in_shards_as_on_one_node(workspace, sharded, pools) -> None:
    source, _ = pools
    for keywords, sort_by in ((["developer"], "searching"), (["accountant"], "searching"), (["acme"], "created_at")):
        query = msgspec.convert(
            {"source_keys": [source], "text_keywords": keywords, "sort_by": sort_by, "limit": 8},
            ProfilesSearchingQuery,
        )
        _assert_same(workspace.ranking.search_profiles(query), sharded.ranking.search_profiles(query))


def test_shards_hold_each_record_once_and_follow_writes(store, workspace, pools) -> None:
    source, _ = pools
    shards = LocalShards(store.url, vectors_tag(workspace.encoder.name), workspace.encoder.dimension, SHARDS)

    def held() -> list[set[int]]:
        parts = []
        for registry in (server.registry for server in shards.servers):
            columns = registry.open(source)[0].columns.snapshot()
            parts.append(set(columns.record_ids[: columns.rows].tolist()))
        return parts

    def alive() -> set[int]:
        ids = set()
        for registry in (server.registry for server in shards.servers):
            columns = registry.open(source)[0].columns.snapshot()
            ids |= set(columns.record_ids[: columns.rows][columns.alive[: columns.rows]].tolist())
        return ids

    stored = set(workspace.records.pool_index(source).columns.snapshot().record_ids[:60].tolist())
    parts = held()
    assert set().union(*parts) == stored and sum(len(part) for part in parts) == len(stored)
    assert all(parts), "60 records leave no shard of 3 empty"
    for number, part in enumerate(parts):
        assert all(Shard(number, SHARDS).holds(record_id) for record_id in part)

    [added] = workspace.records.index(PROFILE, source, [_profile(60, random.Random(1))])
    for server in shards.servers:
        server.index(source)  # caught up with the store
    assert added.id in alive() and sum(added.id in part for part in held()) == 1
    workspace.records.archive(PROFILE, source, RecordLookup(reference="p60"), True)
    for server in shards.servers:
        server.index(source)
    assert added.id not in alive()
    shards.close()


def test_a_front_end_ranking_in_shards_loads_no_pool_of_its_own(workspace, sharded, pools) -> None:
    """The shards hold the pools: the front end's warm-up, its rankings by relevance and its writes leave
    its own registry empty (a front end stays small however large the pools)."""
    source, board = pools
    assert sharded.ready.wait(60)
    query = msgspec.convert(
        {"source_keys": [source], "board_key": board, "job_reference": "j1", "sort_by": "scoring"},
        ProfilesScoringQuery,
    )
    sharded.records.index(PROFILE, source, [_profile(61, random.Random(5))])
    sharded.records.archive(PROFILE, source, RecordLookup(reference="p0"), True)
    workspace.registry.catch_up(source)  # the one node applies the other workspace's writes (its sync would)
    _assert_same(workspace.ranking.score_profiles(query), sharded.ranking.score_profiles(query))
    by_date = msgspec.structs.replace(query, sort_by="updated_at")
    _assert_same(workspace.ranking.score_profiles(by_date), sharded.ranking.score_profiles(by_date))
    assert sharded.registry.pools() == []


def test_records_of_another_model_are_computed_again_by_the_front_end_for_the_shards(
    store, workspace, sharded, pools
) -> None:
    source, board = pools
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(records).where(records.c.pool_key == source, records.c.id % 4 == 0).values(model="an-old-model")
        )
    query = msgspec.convert(
        {"source_keys": [source], "board_key": board, "job_reference": "j2", "sort_by": "scoring"},
        ProfilesScoringQuery,
    )
    with pytest.raises(ShardNotReady, match="need computing again"):
        sharded.ranking.score_profiles(query)
    assert sharded.records.refresh_stale(source) == 15
    assert sharded.records.refresh_stale(source) == 0
    _assert_same(workspace.ranking.score_profiles(query), sharded.ranking.score_profiles(query))


def _said(explanation: Any) -> tuple[str, list[str], list[str], float]:
    return (
        explanation.summary,
        [point.text for point in explanation.strengths],
        [point.text for point in explanation.weaknesses],
        explanation.score,
    )


def test_explanations_from_shards_as_on_one_node(workspace, sharded, pools) -> None:
    """A scored page's explanations and a grading read the re-ranker's features from the shard holding
    the record: the same sentences and scores as one node's."""
    source, board = pools
    query = msgspec.convert(
        {"source_keys": [source], "board_key": board, "job_reference": "j3", "sort_by": "scoring", "explain": True},
        ProfilesScoringQuery,
    )
    single, spread = workspace.ranking.score_profiles(query), sharded.ranking.score_profiles(query)
    _assert_same(single, spread)
    for mine, theirs in zip(single.explanations, spread.explanations, strict=True):
        summary, strengths, weaknesses, score = _said(mine)
        assert _said(theirs)[:3] == (summary, strengths, weaknesses) and _said(theirs)[3] == pytest.approx(score)
    for reference in ("p1", "p2", "p5"):
        pair = msgspec.convert(
            {"source_key": source, "board_key": board, "profile_reference": reference, "job_reference": "j3"},
            PairQuery,
        )
        one, other = (side.explanations.grade(pair, PROFILE).explanation for side in (workspace, sharded))
        assert _said(other)[:3] == _said(one)[:3] and _said(other)[3] == pytest.approx(_said(one)[3])
        if reference == "p2":  # a record archived since it was scored is still explained
            workspace.records.archive(PROFILE, source, RecordLookup(reference=reference), True)
            one, other = (side.explanations.grade(pair, PROFILE).explanation for side in (workspace, sharded))
            assert _said(other)[:3] == _said(one)[:3] and _said(other)[3] == pytest.approx(_said(one)[3])
    assert sharded.registry.pools() == []


def _close(one: Any, other: Any) -> None:
    """Two reports (msgspec Structs as builtins) equal, their floats to float32 rounding."""
    if isinstance(one, dict):
        assert one.keys() == other.keys()
        for key in one:
            _close(one[key], other[key])
    elif isinstance(one, list):
        assert len(one) == len(other)
        for a, b in zip(one, other):
            _close(a, b)
    elif isinstance(one, float):
        assert other == pytest.approx(one, rel=1e-5, abs=1e-6)
    else:
        assert other == one


def test_audits_upskilling_and_tag_choices_from_shards_as_on_one_node(workspace, sharded, pools) -> None:
    """What reads a whole pool besides ranking (upskilling's re-scored edits, a fairness audit's scores,
    the bias probes, the copilots' tag choices) reads it from the shards: one node's answers, and the
    front end still loads no pool."""
    from cerebro_serve.cluster.shard_ranking import ShardRequest
    from cerebro_serve.index.filters import RowFilter
    from cerebro_serve.scoring.algorithms import base_algorithm
    from cerebro_serve.services.bias_probes import overload_bias, stereotype_bias
    from cerebro_serve.services.queries import UpskillingQuery
    from cerebro_serve.services.ranking import NOT_SCORABLE

    source, board = pools
    for subject, graded in ((PROFILE, "p2"), (JOB, "j4")):
        pair = {"source_key": source, "board_key": board, "profile_reference": "p2", "job_reference": "j4"}
        query = msgspec.convert(pair, UpskillingQuery)
        one, other = (side.explanations.upskill(query, subject).explanation for side in (workspace, sharded))
        assert one.suggestions, f"nothing to suggest for {graded}: the comparison shows nothing"
        _close(msgspec.to_builtins(one), msgspec.to_builtins(other))

    job = workspace.records.find(JOB, board, RecordLookup(reference="j1"))
    anchor = workspace.ranking.anchors.of(JOB, job, base_algorithm())
    request = ShardRequest(anchor.vector, RowFilter(refused=NOT_SCORABLE), None, anchor.query, anchor.algorithm)
    chosen = np.arange(1, 80, 3, dtype=np.int64)  # profiles of both pools, some refusing their score
    for record_ids in (None, chosen):
        one, other = (side.reads.scored(source, request, record_ids) for side in (workspace, sharded))
        assert len(one.record_ids) and one.record_ids.tolist() == other.record_ids.tolist()
        np.testing.assert_allclose(other.scores, one.scores, rtol=1e-5, atol=1e-6)
    teams = RowFilter(tags_included=((TagClause("team", "north"),),))
    assert workspace.reads.allowed_ids(source, teams).tolist() == sharded.reads.allowed_ids(source, teams).tolist()

    for probe in (
        lambda side: stereotype_bias(side.records, side.reads, base_algorithm(), [board], [source], max_profiles=4),
        lambda side: overload_bias(side.records, side.reads, base_algorithm(), [board], [source], top_k=5),
    ):
        one, other = probe(workspace), probe(sharded)
        _close(msgspec.to_builtins(one), msgspec.to_builtins(other))
    assert (
        workspace.reads.tag_counts(source)
        == sharded.reads.tag_counts(source)
        == {
            ("team", "north"): 20,
            ("team", "south"): 20,
            ("team", "east"): 20,
        }
    )
    assert sharded.registry.pools() == []
