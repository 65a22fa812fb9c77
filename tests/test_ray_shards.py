"""Pools sharded across a local Ray cluster (a head and two worker nodes, separate processes on
127.0.0.1): rankings equal one node's; a killed shard actor's replica answers and the actor comes back
with the writes made while it was away; a killed node fails no request; a shard with no replica left
fails the call with a 503 naming it, never a partial ranking."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import pytest
from helpers import make_workspace, stop_workspace
from test_shards import _assert_same, _profile, seed_pools

from cerebro_serve.cli import open_shards
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.objects import PROFILE
from cerebro_serve.services import Workspace
from cerebro_serve.services.errors import Unavailable
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.queries import JobsScoringQuery, ProfilesScoringQuery, ProfilesSearchingQuery
from cerebro_serve.settings import Settings
from cerebro_serve.store import SqlStore
from cerebro_serve.store.sharding import shard_numbers

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402 - only once ray is known to be installed

SHARDS, REPLICAS = 2, 2
RESTART_SECONDS = 60


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head and two worker nodes, each its own raylet and object store, on this machine."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="cerebro-serve-tests", log_to_driver=False)
    cluster.workers = workers
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'cerebro.db'}")
    yield store
    store.close()


@pytest.fixture
def single(sqlite_store, batcher, tmp_path, admin_key) -> Iterator[Workspace]:
    workspace = make_workspace(sqlite_store, batcher, tmp_path / "indexes", admin_key)
    yield workspace
    stop_workspace(workspace)


@pytest.fixture
def pools(single: Workspace) -> tuple[str, str]:
    return seed_pools(single, 40, 4)


@pytest.fixture
def shards(cluster, sqlite_store, single):
    from cerebro_serve.cluster.ray_shards import RayShards

    shards = RayShards(
        sqlite_store.url, vectors_tag(single.encoder.name), single.encoder.dimension, SHARDS, REPLICAS, 5.0
    )
    yield shards
    shards.shutdown()


@pytest.fixture
def sharded(sqlite_store, single, shards, tmp_path, admin_key) -> Iterator[Workspace]:
    workspace = make_workspace(sqlite_store, single.encoder, tmp_path / "sharded", admin_key, shards=shards)
    yield workspace
    stop_workspace(workspace)


def _scoring(board: str, source: str, job: int) -> ProfilesScoringQuery:
    return msgspec.convert(
        {"source_keys": [source], "board_key": board, "job_reference": f"j{job}", "sort_by": "scoring"},
        ProfilesScoringQuery,
    )


def _references(workspace: Workspace, query: ProfilesScoringQuery) -> list[str | None]:
    return [profile.reference for profile in workspace.ranking.score_profiles(query).items]


def test_rankings_across_the_cluster_equal_one_nodes(single, sharded, pools) -> None:
    source, board = pools
    for job in range(4):
        query = _scoring(board, source, job)
        _assert_same(single.ranking.score_profiles(query), sharded.ranking.score_profiles(query))
    jobs = msgspec.convert(
        {"board_keys": [board], "source_key": source, "profile_reference": "p3", "sort_by": "scoring"},
        JobsScoringQuery,
    )
    _assert_same(single.ranking.score_jobs(jobs), sharded.ranking.score_jobs(jobs))
    search = msgspec.convert(
        {"source_keys": [source], "text_keywords": ["developer"], "sort_by": "searching"}, ProfilesSearchingQuery
    )
    _assert_same(single.ranking.search_profiles(search), sharded.ranking.search_profiles(search))
    # What audits and copilots read of a whole pool: its statistics and tag counts, summed over the shards.
    one, other = single.reads.statistics(source), sharded.reads.statistics(source)
    assert (other.docs, other.length_sum, other.df.tolist()) == (one.docs, one.length_sum, one.df.tolist())
    assert sharded.reads.tag_counts(source) == single.reads.tag_counts(source) != {}
    replicas = {ray.get(actor.ready.remote()) for group in shards_of(sharded) for actor in group}
    assert replicas == {"shard-0-of-2", "shard-1-of-2"}


def shards_of(workspace: Workspace) -> list[list]:
    assert workspace.ranking.shards is not None
    return workspace.ranking.shards.replicas


def test_a_killed_shard_actor_is_replaced_by_its_replica_and_comes_back_with_the_writes(single, sharded, pools) -> None:
    source, board = pools
    query = _scoring(board, source, 0)
    before = _references(single, query)
    victim = shards_of(sharded)[0][0]
    ray.kill(victim, no_restart=False)  # Ray restarts it; meanwhile its replica answers
    for _ in range(4):  # every turn of replicas, the killed one's included
        assert _references(sharded, query) == before
    [added] = single.records.index(PROFILE, source, [_profile(40, random.Random(3))])  # while it restarts
    deadline = time.monotonic() + RESTART_SECONDS
    while True:
        try:
            ray.get(victim.ready.remote(), timeout=5)
            break
        except ray.exceptions.RayError:
            assert time.monotonic() < deadline, "the killed shard actor never came back"
            time.sleep(0.5)
    expected = _references(single, query)
    for _ in range(4):
        assert _references(sharded, query) == expected
    # The restarted actor rebuilt its shard from the store, with the profile written while it was away.
    (restarted, revision), (other, _) = ray.get(
        [victim.statistics.remote(source), shards_of(sharded)[1][0].statistics.remote(source)]
    )
    assert restarted.docs + other.docs == 41
    assert revision == single.store.pools.pool_revision(source)
    assert added.id is not None


def test_a_second_front_end_joins_the_same_shards(cluster, sqlite_store, single, shards, pools) -> None:
    """Front ends scale apart from the shards: another server process finds the actors by name."""
    from cerebro_serve.cluster.ray_shards import RayShards

    other = RayShards(
        sqlite_store.url, vectors_tag(single.encoder.name), single.encoder.dimension, SHARDS, REPLICAS, 5.0
    )
    ids = [[actor._actor_id for actor in group] for group in shards.replicas]
    assert [[actor._actor_id for actor in group] for group in other.replicas] == ids
    source, board = pools
    query = _scoring(board, source, 3)
    request = single.ranking.score_profiles(query)
    assert [p.reference for p in request.items] == _references_via(other, single, query)
    other.close()  # leaves the actors to the first front end


def _references_via(shards, single: Workspace, query: ProfilesScoringQuery) -> list[str | None]:
    workspace = make_workspace(single.store, single.encoder, None, new_key(), shards=shards)
    try:
        return _references(workspace, query)
    finally:
        stop_workspace(workspace)


def test_a_killed_node_fails_no_request(cluster, single, sharded, pools) -> None:
    source, board = pools
    query = _scoring(board, source, 1)
    expected = _references(single, query)
    assert _references(sharded, query) == expected
    cluster.remove_node(cluster.workers.pop())  # its replicas die with it; one of each shard lives on
    for _ in range(6):
        assert _references(sharded, query) == expected
    cluster.workers.append(cluster.add_node(num_cpus=1))  # the next test's placement has its three nodes


def test_a_shard_without_a_replica_fails_the_call_naming_it(single, sharded, shards, pools) -> None:
    source, board = pools
    for actor in shards.replicas[1]:
        ray.kill(actor, no_restart=True)
    with pytest.raises(Unavailable, match="shard-1-of-2 of the pool is unavailable") as raised:
        sharded.ranking.score_profiles(_scoring(board, source, 2))
    assert raised.value.status == 503
    # Where the caller allows it: the other shard's records, and the page says which shard it lacks.
    partial = msgspec.structs.replace(_scoring(board, source, 2), allow_partial=True, limit=50)
    page = sharded.ranking.score_profiles(partial)
    assert page.extra_meta["partial"] == {"missing_shards": [{"pool_key": source, "shard": "shard-1-of-2"}]}
    ids = np.array([profile.id for profile in page.items])
    assert len(ids) and np.all(shard_numbers(ids, SHARDS) == 0)
    # Every one of its records (the page holds the pool): their order may differ from one node's, since
    # the missing shard's term counts are missing from the statistics too.
    everyone = np.array([profile.id for profile in single.ranking.score_profiles(partial).items])
    assert sorted(ids.tolist()) == sorted(everyone[shard_numbers(everyone, SHARDS) == 0].tolist())


def test_the_server_ranks_in_the_clusters_shards_its_settings_name(cluster, postgres_url, batcher, tmp_path) -> None:
    """`CEREBRO_CLUSTER` and PostgreSQL, as `cerebro-serve serve` wires them (cli.open_shards)."""
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, cluster=cluster.address, shards=2)
    store = SqlStore(settings.store_url)
    single = make_workspace(store, batcher, tmp_path / "single", new_key())
    shards = open_shards(settings, store.url, batcher)
    sharded = make_workspace(store, batcher, tmp_path / "sharded", new_key(), shards=shards)
    try:
        source, board = seed_pools(single, 30, 1, seed=11)
        assert len(shards.replicas) == 2 and all(len(replicas) == 2 for replicas in shards.replicas)
        query = _scoring(board, source, 0)
        _assert_same(single.ranking.score_profiles(query), sharded.ranking.score_profiles(query))
    finally:
        shards.shutdown()
        stop_workspace(sharded)
        stop_workspace(single)
        store.close()
