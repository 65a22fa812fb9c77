"""The demo workspace loads once and answers meaningfully."""

from __future__ import annotations

import pytest
from helpers import wait_for_training

from cerebro_serve.demo import load_demo
from cerebro_serve.engine.batcher import QueueFull
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services import Workspace, record_import
from cerebro_serve.services.copilots import CopilotListQuery
from cerebro_serve.services.queries import (
    AlgorithmListQuery,
    FeedbackListQuery,
    JobsStoringQuery,
    PoolListQuery,
    ProfilesScoringQuery,
)


def test_demo_loads_once_and_ranks_within_the_field(workspace: Workspace) -> None:
    assert load_demo(workspace) is True
    assert load_demo(workspace) is False
    [source] = workspace.pools.list(PROFILE, PoolListQuery()).items
    [board] = workspace.pools.list(JOB, PoolListQuery()).items
    assert source.stats["size"] == 200 and board.stats["size"] == 50

    jobs = workspace.records.list(JOB, JobsStoringQuery(board_keys=[board.key], limit=50, return_job=True)).items
    hits = 0
    for job in jobs[:10]:
        field = next(tag.value for tag in job.tags if tag.name == "field")
        page = workspace.ranking.score_profiles(
            ProfilesScoringQuery(
                source_keys=[source.key], board_key=board.key, job_key=job.key, sort_by="scoring", limit=10
            )
        )
        hits += sum(next(t.value for t in p.tags if t.name == "field") == field for p in page.items)
    # Ten fields, so chance is 10%; the encoder must do far better.
    assert hits / 100 >= 0.8


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the stores are covered by their own tests
def test_demo_sets_up_copilots_and_a_training_on_rated_demo_pairs(workspace: Workspace) -> None:
    """Every Studio and copilot page has something to show on a fresh `make serve`."""
    load_demo(workspace)
    copilots = workspace.copilots.list(CopilotListQuery()).items
    assert sorted(c["type"] for c in copilots) == ["recruiter", "talent"]
    [fork] = workspace.algorithms.list(AlgorithmListQuery()).items
    assert [goal["action"] for goal in fork["goals"]] == ["shortlisted", "interviewed", "hired", "rejected"]
    ratings = workspace.feedback.list("rating", FeedbackListQuery(role="recruiter", limit=1))
    assert ratings.total == 50 * 4
    training = wait_for_training(workspace, fork["key"])
    assert training["status"] == "succeeded", training.get("error")
    assert training["metrics"]["validation"]["auc"] > 0.9  # field-labelled ratings are easy to learn


def test_demo_load_waits_out_a_busy_encoder(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """At start-up the encoder may be busy (a training, an import): its queue refuses the demo's batch
    once, and the load waits and sends it again instead of failing the server's start."""
    monkeypatch.setattr(record_import, "BUSY_RETRY_SECONDS", 0.01)
    index, refused = workspace.records.index, []

    def busy_once(kind, pool_key, records):
        if not refused:
            refused.append(pool_key)
            raise QueueFull("queued work would delay this request 14 s (limit 10 s)", 4.0)
        return index(kind, pool_key, records)

    monkeypatch.setattr(workspace.records, "index", busy_once)
    assert load_demo(workspace) is True
    [board] = workspace.pools.list(JOB, PoolListQuery()).items
    assert refused == [board.key] and board.stats["size"] == 50
