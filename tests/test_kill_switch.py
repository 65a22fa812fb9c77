"""The kill switch: an admin stops an algorithm (its calls fall back to the workspace default or fail with
409) and restores it; the state is durable, shown on the algorithm, and both requests are audit events."""

from __future__ import annotations

import json

import pytest
from helpers import python_and_php_pair

from cerebro_serve.services.algorithms import AlgorithmService
from cerebro_serve.services.errors import Conflict
from cerebro_serve.services.keys import KeyRing
from cerebro_serve.store import SqlStore


@pytest.fixture
def pair(client) -> dict[str, str]:
    """A source with two profiles, a board with a job, and a fork of cerebro-trainable."""
    pair = python_and_php_pair(client)
    fork = {"base": "cerebro-trainable", "name": "Tech hiring", "labeller_role": "recruiter"}
    algorithm = client.post("/v1/algorithm", json=fork).json()["data"]["key"]
    return {**pair, "algorithm": algorithm}


def _score(client, pair: dict[str, str], algorithm_key: str | None = None):
    params = {"source_keys": json.dumps([pair["source"]]), "board_key": pair["board"], "job_key": pair["job"]}
    if algorithm_key is not None:
        params["algorithm_key"] = algorithm_key
    return client.get("/v1/profiles/scoring", params=params)


def _stop(client, key: str, fallback: str, reason: str = "impact ratio 0.62 for women", **headers: str):
    body = {"algorithm_key": key, "fallback": fallback, "reason": reason}
    return client.post("/v1/algorithm/stop", json=body, headers=headers)


def test_stopped_algorithm_falls_back_to_the_default_then_serves_again_once_restored(client, pair) -> None:
    fork = pair["algorithm"]
    assert _score(client, pair, fork).json()["meta"]["algorithm_key"] == fork

    stopped = _stop(client, fork, "default", **{"X-USER-EMAIL": "dpo@corp.example"})
    assert stopped.status_code == 200, stopped.text
    state = stopped.json()["data"]["stopped"]
    assert state["fallback"] == "default" and state["reason"] == "impact ratio 0.62 for women"
    assert state["stopped_at"] and state["stopped_by"]["key_id"]
    assert state["stopped_by"]["user"] == client.app.state.workspace.audit.hashed("dpo@corp.example")
    assert client.get("/v1/algorithm", params={"algorithm_key": fork}).json()["data"]["stopped"] == state
    [listed] = client.get("/v1/algorithms").json()["data"]
    assert listed["stopped"] == state

    answer = _score(client, pair, fork).json()
    assert answer["code"] == 200 and len(answer["data"]["profiles"]) == 2
    assert answer["meta"]["algorithm_key"] == "cerebro-base" and answer["meta"]["algorithm_version"] == 1
    assert answer["meta"]["algorithm_stopped"] == {"algorithm_key": fork, **state}

    restored = client.post("/v1/algorithm/restore", json={"algorithm_key": fork, "reason": "retrained, audited"})
    assert restored.status_code == 200 and restored.json()["data"]["stopped"] is None
    answer = _score(client, pair, fork).json()
    assert answer["meta"]["algorithm_key"] == fork and "algorithm_stopped" not in answer["meta"]

    again = client.post("/v1/algorithm/restore", json={"algorithm_key": fork, "reason": "twice"})
    assert again.status_code == 409 and fork in again.json()["message"]


def test_fallback_fail_refuses_scoring_and_grading_with_409(client, pair) -> None:
    assert _stop(client, "cerebro-base", "fail").status_code == 200
    refused = _score(client, pair)  # no key: the workspace default, cerebro-base
    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert "cerebro-base" in message and "stopped by an admin" in message and "impact ratio" in message
    grading = client.get(
        "/v1/profile/grading",
        params={
            "source_key": pair["source"],
            "profile_reference": "python",
            "board_key": pair["board"],
            "job_key": pair["job"],
        },
    )
    assert grading.status_code == 409
    assert _score(client, pair, pair["algorithm"]).json()["meta"]["algorithm_key"] == pair["algorithm"]
    base = {item["key"]: item for item in client.get("/v1/algorithms/marketplace").json()["data"]}
    assert base["cerebro-base"]["stopped"]["fallback"] == "fail" and base["cerebro-trainable"]["stopped"] is None
    shown = client.get("/v1/algorithm", params={"algorithm_key": "cerebro-base"}).json()["data"]
    assert shown["built_in"] and shown["stopped"]["reason"] == "impact ratio 0.62 for women"


def test_the_fallback_skips_a_stopped_default_and_fails_when_nothing_is_left(client, pair) -> None:
    fork = pair["algorithm"]
    assert client.post("/v1/algorithm/default", json={"algorithm_key": fork}).status_code == 200
    other = client.post(
        "/v1/algorithm", json={"base": "cerebro-base", "name": "Sales", "labeller_role": "recruiter"}
    ).json()["data"]["key"]
    assert _stop(client, other, "default").status_code == 200
    assert _score(client, pair, other).json()["meta"]["algorithm_key"] == fork  # the workspace default

    assert _stop(client, fork, "default").status_code == 200  # the default itself: cerebro-base answers
    for asked in (None, fork, other):
        meta = _score(client, pair, asked).json()["meta"]
        assert meta["algorithm_key"] == "cerebro-base"
        assert meta["algorithm_stopped"]["algorithm_key"] == (asked or fork)

    assert _stop(client, "cerebro-base", "default").status_code == 200  # nothing is left to answer
    assert _score(client, pair, other).status_code == 409
    assert _score(client, pair, "cerebro-trainable").json()["meta"]["algorithm_key"] == "cerebro-trainable"


def test_stopping_again_replaces_the_fallback_and_reason(client, pair) -> None:
    assert _stop(client, "cerebro-match", "default", reason="first").status_code == 200
    assert _score(client, pair, "cerebro-match").json()["meta"]["algorithm_key"] == "cerebro-base"
    replaced = _stop(client, "cerebro-match", "fail", reason="second").json()["data"]["stopped"]
    assert replaced["fallback"] == "fail" and replaced["reason"] == "second"
    assert _score(client, pair, "cerebro-match").status_code == 409


def test_stopping_cerebro_match_refuses_the_matching_routes_whatever_the_fallback(client, pair) -> None:
    params = {"source_key": pair["source"], "profile_reference": "python", "sort_by": "scoring"}
    assert client.get("/v1/profiles/matching", params=params).status_code == 200
    assert _stop(client, "cerebro-match", "default").status_code == 200
    refused = client.get("/v1/profiles/matching", params=params)
    assert refused.status_code == 409 and "cerebro-match" in refused.json()["message"]
    job = {"board_key": pair["board"], "job_key": pair["job"], "sort_by": "scoring"}
    assert client.get("/v1/jobs/matching", params=job).status_code == 409
    client.post("/v1/algorithm/restore", json={"algorithm_key": "cerebro-match", "reason": "back"})
    assert client.get("/v1/profiles/matching", params=params).status_code == 200


def test_admin_keys_only_unknown_algorithms_and_bad_bodies(client, pair) -> None:
    workspace = client.app.state.workspace
    ring = KeyRing(workspace.store, workspace.keys.admin_key)
    for permission in ("read", "write"):
        key = ring.create(permission)
        assert _stop(client, pair["algorithm"], "fail", **{"X-API-KEY": key}).status_code == 403
        restore = {"algorithm_key": pair["algorithm"], "reason": "x"}
        assert client.post("/v1/algorithm/restore", json=restore, headers={"X-API-KEY": key}).status_code == 403
    unknown = _stop(client, "0" * 40, "fail")
    assert unknown.status_code == 404 and "0" * 40 in unknown.json()["message"]
    assert client.post("/v1/algorithm/restore", json={"algorithm_key": "gpt-9", "reason": "x"}).status_code == 404
    for body in (
        {"algorithm_key": pair["algorithm"], "fallback": "maybe", "reason": "x"},
        {"algorithm_key": pair["algorithm"], "fallback": "fail"},
        {"algorithm_key": pair["algorithm"], "fallback": "fail", "reason": ""},
        {"algorithm_key": pair["algorithm"], "fallback": "fail", "reason": "x" * 257},
    ):
        assert client.post("/v1/algorithm/stop", json=body).status_code == 400, body
    assert _score(client, pair, pair["algorithm"]).json()["meta"]["algorithm_key"] == pair["algorithm"]


def test_stop_and_restore_are_audit_events_with_their_reason(client, pair) -> None:
    fork = pair["algorithm"]
    assert _stop(client, fork, "default").status_code == 200
    assert client.post("/v1/algorithm/restore", json={"algorithm_key": fork, "reason": "fixed"}).status_code == 200
    events = client.get("/v1/audit", params={"limit": 1000}).json()["data"]
    [stop] = [event for event in events if event["route"] == "/v1/algorithm/stop"]
    [restore] = [event for event in events if event["route"] == "/v1/algorithm/restore"]
    assert stop["status"] == 200 and stop["parameters"] == {
        "algorithm_key": fork,
        "fallback": "default",
        "reason": "impact ratio 0.62 for women",
    }
    assert restore["status"] == 200 and restore["parameters"] == {"algorithm_key": fork, "reason": "fixed"}
    assert stop["key_id"] == client.app.state.workspace.audit.key_id(client.headers["X-API-KEY"])


def test_a_stop_survives_a_restart(client, pair, store) -> None:
    """A new process opens the store and builds the algorithms service as the workspace does."""
    assert _stop(client, "cerebro-base", "fail").status_code == 200
    assert _stop(client, pair["algorithm"], "default").status_code == 200
    reopened = SqlStore(store.url)
    try:
        algorithms = AlgorithmService(reopened.learning, reopened.stops)
        with pytest.raises(Conflict, match="cerebro-base"):
            algorithms.resolve(None)
        stopped = algorithms.get(pair["algorithm"])["stopped"]
        assert stopped["fallback"] == "default" and stopped["reason"] == "impact ratio 0.62 for women"
    finally:
        reopened.close()
