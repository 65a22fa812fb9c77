"""`/metrics`: Prometheus's text format without a key, requests counted by route template (404s too), the
batcher, the indexes, jobs by state, scoring calls and score distributions per algorithm version, and the
drift figure; one registry per workspace, nothing about a person."""

from __future__ import annotations

import json

import numpy as np
import prometheus_client
import pytest
from helpers import PYTHON_JOB
from prometheus_client.parser import text_string_to_metric_families

from cerebro_serve.index.vector_index import VectorIndex
from cerebro_serve.services.score_drift import MIN_RECENT, REFERENCE_SIZE, ScoreDistributions, population_stability
from cerebro_serve.store.learning import StoredTraining

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(client) -> tuple[Samples, str]:
    """Every sample by name and labels, read without a key, as Prometheus would."""
    key = client.headers.pop("X-API-KEY")
    try:
        response = client.get("/metrics")
    finally:
        client.headers["X-API-KEY"] = key
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return samples, response.text


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _index(client, source: str, board: str) -> str:
    for reference, email in (("ada", "ada@mail.example"), ("bob", "bob@mail.example")):
        body = {"source_key": source, "reference": reference, "info": {"full_name": reference, "email": email}}
        assert client.post("/v1/profile/indexing", json={**body, "text": "Python developer"}).status_code == 201
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]
    return job["key"]


def test_requests_are_counted_by_route_template_404s_included(client, pools) -> None:
    source, _ = pools
    before, _ = _scrape(client)
    assert client.get("/v1/profile/indexing", params={"source_key": source, "reference": "nobody"}).status_code == 400
    assert client.get("/v1/profile/indexing", params={"source_key": source, "reference": "other"}).status_code == 400
    assert client.get("/v1/sources").status_code == 200
    assert client.get(f"/v1/no/such/{source}").status_code == 404
    assert (
        client.post("/v1/algorithm/stop", json={"algorithm_key": "x", "fallback": "fail", "reason": "r"}).status_code
        == 404
    )
    after, text = _scrape(client)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "cerebro_http_requests_total"
    assert moved(requests, route="/v1/profile/indexing", method="GET", status="400") == 2
    assert moved(requests, route="/v1/sources", method="GET", status="200") == 1
    assert moved(requests, route="unmatched", method="GET", status="404") == 1
    assert moved(requests, route="/v1/algorithm/stop", method="POST", status="404") == 1
    assert moved(requests, route="/metrics", method="GET", status="200") == 1  # the first scrape
    assert moved("cerebro_http_request_duration_seconds_count", route="/v1/profile/indexing", method="GET") == 2
    routes = {dict(labels)["route"] for name, labels in after if name == requests}
    assert source not in text and "nobody" not in text  # no raw paths, no query strings
    assert all(route == "unmatched" or route.startswith("/") for route in routes)


def test_batcher_index_and_scoring_figures_after_indexing_and_scoring(client, pools) -> None:
    source, board = pools
    before, _ = _scrape(client)
    job = _index(client, source, board)
    params = {"source_keys": json.dumps([source]), "board_key": board, "job_key": job}
    scored = [client.get("/v1/profiles/scoring", params=params).json() for _ in range(2)]
    samples, text = _scrape(client)

    assert _value(samples, "cerebro_index_vectors", pool=source) == 2
    assert _value(samples, "cerebro_index_vectors", pool=board) == 1
    assert ("cerebro_index_ivf_builds_total", frozenset({("pool", source)})) in samples  # small: exact search
    assert ("cerebro_batcher_queue_depth", frozenset()) in samples
    assert _value(samples, "cerebro_encoder_texts_total") > _value(before, "cerebro_encoder_texts_total")
    assert _value(samples, "cerebro_batch_size_pieces_count") > _value(before, "cerebro_batch_size_pieces_count")
    assert _value(samples, "cerebro_batch_queue_wait_seconds_count") > 0
    assert _value(samples, "cerebro_encoder_tokens_per_second") > 0

    version = {"algorithm": "cerebro-base", "version": "1"}
    assert _value(samples, "cerebro_scoring_calls_total", **version) == 2
    returned = [score for answer in scored for _, score in answer["data"]["predictions"]]
    assert _value(samples, "cerebro_scores_count", **version) == len(returned) == 4
    assert _value(samples, "cerebro_scores_sum", **version) == pytest.approx(sum(returned), rel=1e-6)
    assert _value(samples, "cerebro_scores_bucket", le="1.0", **version) == 4
    expected_half = sum(score <= 0.5 for score in returned)
    assert _value(samples, "cerebro_scores_bucket", le="0.5", **version) == expected_half
    assert ("cerebro_score_drift_psi", frozenset(version.items())) not in samples  # no reference yet
    assert "ada@mail.example" not in text and '"ada"' not in text  # no personal value as a label


def test_trainings_are_counted_by_state(client, workspace) -> None:
    fork = {"base": "cerebro-trainable", "name": "Ops", "labeller_role": "recruiter"}
    key = client.post("/v1/algorithm", json=fork).json()["data"]["key"]
    # States the training worker leaves alone, so the counts hold while the test reads them.
    for number, status in enumerate(("failed", "failed", "cancelled", "succeeded")):
        workspace.store.learning.add_training(
            StoredTraining(f"{number:040d}", key, status, "{}", 0.0, None, None, None, False, 0, "api", 0, 0)
        )
    samples, _ = _scrape(client)
    assert _value(samples, "cerebro_trainings", state="failed") == 2
    assert _value(samples, "cerebro_trainings", state="cancelled") == 1
    assert _value(samples, "cerebro_trainings", state="succeeded") == 1
    assert ("cerebro_trainings", frozenset({("state", "queued")})) in samples  # an empty state is a 0
    assert ("cerebro_parsing_jobs", frozenset({("state", "queued")})) in samples


def test_each_workspace_has_its_own_registry(client) -> None:
    client.get("/v1/sources")
    assert not [metric.name for metric in prometheus_client.REGISTRY.collect() if metric.name.startswith("cerebro")]


def test_an_ivf_build_is_counted() -> None:
    index = VectorIndex(8, ann_min_rows=256)
    vectors = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    index.set(np.arange(300), vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    assert index.ann_builds == 0
    index.maintain()
    assert index.ann_builds == 1 and index.approximate


def test_population_stability_is_near_zero_for_the_same_scores_and_large_for_shifted_ones() -> None:
    rng = np.random.default_rng(0)
    reference = rng.beta(2, 5, size=5000)
    assert population_stability(reference, rng.beta(2, 5, size=5000)) < 0.02
    assert population_stability(reference, rng.beta(5, 2, size=5000)) > 0.25
    assert population_stability(np.full(100, 0.5), np.full(50, 0.5)) == pytest.approx(0.0)  # ties: one bin


def test_drift_appears_once_the_reference_is_complete() -> None:
    rng = np.random.default_rng(1)
    stable, shifted = ScoreDistributions(), ScoreDistributions()
    for distributions in (stable, shifted):
        for _ in range(REFERENCE_SIZE // 50):
            distributions.add("a", 1, rng.beta(2, 5, size=50))
        [figures] = distributions.snapshot()
        assert figures.psi is None and figures.count == REFERENCE_SIZE and figures.calls == REFERENCE_SIZE // 50
    stable.add("a", 1, rng.beta(2, 5, size=MIN_RECENT * 3))
    shifted.add("a", 1, rng.beta(5, 2, size=MIN_RECENT * 3))
    [steady] = stable.snapshot()
    [moved] = shifted.snapshot()
    assert steady.psi is not None and steady.psi < 0.1
    assert moved.psi is not None and moved.psi > 0.25
    assert moved.bucket_counts[-1] == moved.count == REFERENCE_SIZE + MIN_RECENT * 3
