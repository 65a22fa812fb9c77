"""Algorithms: the marketplace, forks with 40-hex keys, versions, rollback, the workspace default, and the
scoring call saying which algorithm version answered."""

from __future__ import annotations

import json
import re

import pytest
from helpers import python_and_php_pair

from cerebro_serve.scoring.algorithms import Algorithm
from cerebro_serve.store.learning import StoredTraining


@pytest.fixture
def scoring_setup(client) -> dict[str, str]:
    return python_and_php_pair(client)


def _fork(client, base: str = "cerebro-trainable", **extra) -> dict:
    body = {"base": base, "name": "Our recruiters", "labeller_role": "recruiter", "description": "tech hiring"}
    response = client.post("/v1/algorithm", json=body | extra)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_marketplace_lists_both_bases(client) -> None:
    bases = {item["key"]: item for item in client.get("/v1/algorithms/marketplace").json()["data"]}
    assert set(bases) == {"cerebro-base", "cerebro-trainable"}
    assert bases["cerebro-base"]["trainable"] is False and bases["cerebro-trainable"]["trainable"] is True
    assert all(item["description"] and item["suits"] for item in bases.values())


def test_fork_get_list_and_refusals(client) -> None:
    goals = [
        {"action": "view", "outcome": "neutral"},
        {"action": "interview", "outcome": "positive"},
        {"action": "reject", "outcome": "negative"},
    ]
    algorithm = _fork(client, goals=goals)
    assert re.fullmatch(r"[0-9a-f]{40}", algorithm["algorithm_key"])
    assert algorithm["active_version"] == 1 and algorithm["trainable"] and algorithm["goals"] == goals
    [version] = algorithm["versions"]
    assert version["version"] == 1 and version["status"] == "active" and version["created_at"]
    fetched = client.get("/v1/algorithm", params={"algorithm_key": algorithm["key"]}).json()["data"]
    assert fetched == algorithm
    listed = client.get("/v1/algorithms").json()
    assert [item["key"] for item in listed["data"]] == [algorithm["key"]] and listed["meta"]["total"] == 1
    for body, message in (
        ({"base": "gpt-9", "name": "x", "labeller_role": "recruiter"}, "marketplace"),
        ({"base": "cerebro-base", "name": "x", "labeller_role": "boss"}, "labeller_role"),
        ({"base": "cerebro-base", "labeller_role": "recruiter"}, "name"),
        (
            {
                "base": "cerebro-base",
                "name": "x",
                "labeller_role": "recruiter",
                "goals": [{"action": "a", "outcome": "positive"}, {"action": "a", "outcome": "negative"}],
            },
            "twice",
        ),
    ):
        response = client.post("/v1/algorithm", json=body)
        assert response.status_code == 400 and message in response.json()["message"], response.text
    missing = client.get("/v1/algorithm", params={"algorithm_key": "0" * 40})
    assert missing.status_code == 400 and "Unable to find object: algorithm" in missing.json()["message"]


def test_scoring_names_the_version_that_answered_and_rollback_restores_it(client, workspace, scoring_setup) -> None:
    algorithm = _fork(client)
    key = algorithm["key"]

    def score(**params) -> dict:
        query = {
            "source_keys": json.dumps([scoring_setup["source"]]),
            "board_key": scoring_setup["board"],
            "job_key": scoring_setup["job"],
            "sort_by": "scoring",
        }
        response = client.get("/v1/profiles/scoring", params=query | params)
        assert response.status_code == 200, response.text
        return response.json()

    default = score()
    assert default["meta"]["algorithm_key"] == "cerebro-base" and default["meta"]["algorithm_version"] == 1
    first = score(algorithm_key=key)
    assert (first["meta"]["algorithm_key"], first["meta"]["algorithm_version"]) == (key, 1)
    assert first["data"]["predictions"] == default["data"]["predictions"]  # a fork starts as its base
    # A version 2 that inverts the ranking (published as a training would), then a rollback to 1.
    inverted = Algorithm("x", 2, -workspace.algorithms.fusion(key, 1).weights, 0.0)
    store = workspace.algorithms.store
    store.add_training(StoredTraining("t" * 40, key, "running", "{}", 0.0, None, None, None, False, 0, "api", 0, 0))
    assert store.publish_version("t" * 40, key, 0, inverted.to_json(), json.dumps({"auc": 0.5}), "[]") == 2
    second = score(algorithm_key=key)
    assert second["meta"]["algorithm_version"] == 2
    assert [p["reference"] for p in second["data"]["profiles"]] == ["php", "python"]
    versions = client.get("/v1/algorithm", params={"algorithm_key": key}).json()["data"]["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "available"), (2, "active")]
    assert versions[1]["metrics"] == {"auc": 0.5}
    workspace.recorder.flush()  # calls are recorded off the request path, at most a second behind
    calls = [
        v["scoring_calls"]
        for v in client.get("/v1/algorithm", params={"algorithm_key": key}).json()["data"]["versions"]
    ]
    assert calls == [1, 1]  # version 1 answered `first`, version 2 `second`
    rolled = client.post("/v1/algorithm/rollback", json={"algorithm_key": key, "version": 1})
    assert rolled.status_code == 200 and rolled.json()["data"]["active_version"] == 1
    restored = score(algorithm_key=key)
    assert restored["data"]["predictions"] == first["data"]["predictions"]
    assert client.post("/v1/algorithm/rollback", json={"algorithm_key": key, "version": 7}).status_code == 400
    # The workspace default answers calls that name no algorithm; null goes back to cerebro-base.
    assert client.post("/v1/algorithm/default", json={"algorithm_key": key}).status_code == 200
    assert score()["meta"]["algorithm_key"] == key
    assert client.post("/v1/algorithm/default", json={"algorithm_key": None}).status_code == 200
    assert score()["meta"]["algorithm_key"] == "cerebro-base"
    assert score(algorithm_key="cerebro-trainable")["meta"]["algorithm_key"] == "cerebro-trainable"
    unknown = client.get(
        "/v1/profiles/scoring",
        params={
            "source_keys": json.dumps([scoring_setup["source"]]),
            "board_key": scoring_setup["board"],
            "job_key": scoring_setup["job"],
            "algorithm_key": "f" * 40,
        },
    )
    assert unknown.status_code == 400 and "algorithm" in unknown.json()["message"]
