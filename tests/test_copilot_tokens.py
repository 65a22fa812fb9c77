"""A partner app's copilot token (`Authorization: Bearer cpt_...`) does what its copilot's pages do and
nothing else: only the routes open to its copilot type, only on the copilot's pools (in query strings,
JSON bodies and forms alike), always with the copilot's algorithm; revoked, changed or switched off, it
opens nothing."""

from __future__ import annotations

import json

import pytest
from helpers import ENGLISH_RESUME, PYTHON_JOB, PYTHON_RESUME, profile

TRAINABLE = "cerebro-trainable"


@pytest.fixture
def setup(client) -> dict[str, str]:
    """Two sources and two boards: the copilots get the first of each, the second is someone else's."""
    keys: dict[str, str] = {}
    for name in ("source", "other_source"):
        keys[name] = client.post("/v1/source", json={"name": name}).json()["data"]["key"]
    for name in ("board", "other_board"):
        keys[name] = client.post("/v1/board", json={"name": name}).json()["data"]["key"]
    for source in (keys["source"], keys["other_source"]):
        answer = client.post("/v1/profile/indexing", json={**profile(PYTHON_RESUME), "source_key": source})
        keys[f"profile_in_{source}"] = answer.json()["data"]["key"]
    for board in (keys["board"], keys["other_board"]):
        answer = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board})
        keys[f"job_in_{board}"] = answer.json()["data"]["key"]
    keys["profile"] = keys[f"profile_in_{keys['source']}"]
    keys["job"] = keys[f"job_in_{keys['board']}"]
    return keys


def _copilot(client, setup: dict[str, str], kind: str) -> str:
    body = {
        "type": kind,
        "name": f"{kind} partner",
        "source_keys": [setup["source"]],
        "board_keys": [setup["board"]],
        "algorithm_key": TRAINABLE,
    }
    answer = client.post("/v1/copilot", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]["key"]


def _token(client, key: str) -> dict[str, str]:
    answer = client.post("/v1/copilot/token", json={"key": key, "expires_in": 600})
    assert answer.status_code == 201, answer.text
    token = answer.json()["data"]["token"]
    assert token.startswith("cpt_")
    return {"Authorization": f"Bearer {token}"}


def _partner(client, headers: dict[str, str]) -> dict[str, str]:
    """From here on the client sends no admin key of its own: only the bearer token speaks."""
    client.headers.pop("X-API-KEY", None)
    return headers


def _refused(response, status: int, said: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and said in body["message"], body


def test_a_talent_token_scores_jobs_for_its_pools_with_the_copilots_algorithm(client, setup) -> None:
    headers = _partner(client, _token(client, _copilot(client, setup, "talent")))
    query = {
        "source_key": setup["source"],
        "board_keys": json.dumps([setup["board"]]),
        "profile_key": setup["profile"],
        "algorithm_key": "cerebro-base",  # the copilot's algorithm answers, whatever the caller names
    }
    answer = client.get("/v1/jobs/scoring", params=query, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["algorithm_key"] == TRAINABLE
    assert [job["key"] for job in answer.json()["data"]["jobs"]] == [setup["job"]]
    body = {**query, "board_keys": [setup["board"]]}
    answer = client.post("/v1/jobs/scoring", json=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["meta"]["algorithm_key"] == TRAINABLE


def test_pools_that_are_not_the_copilots_are_refused_in_queries_bodies_and_forms(client, setup) -> None:
    headers = _partner(client, _token(client, _copilot(client, setup, "talent")))
    other_board = {
        "source_key": setup["source"],
        "board_keys": [setup["board"], setup["other_board"]],
        "profile_key": setup["profile"],
    }
    answer = client.get(
        "/v1/jobs/scoring", params={**other_board, "board_keys": json.dumps(other_board["board_keys"])}, headers=headers
    )
    _refused(answer, 403, f"`board_keys` {setup['other_board']} is not one of this copilot's pools")
    _refused(client.post("/v1/jobs/scoring", json=other_board, headers=headers), 403, "not one of this copilot's pools")
    pair = {"source_key": setup["other_source"], "board_key": setup["board"], "job_key": setup["job"]}
    pair["profile_key"] = setup[f"profile_in_{setup['other_source']}"]
    _refused(client.get("/v1/job/grading", params=pair, headers=headers), 403, "`source_key`")
    tracking = {"role": "candidate", "action": "view", "source_key": setup["source"], "board_key": setup["other_board"]}
    tracking |= {"profile_key": setup["profile"], "job_key": setup[f"job_in_{setup['other_board']}"]}
    _refused(client.post("/v1/tracking", json=tracking, headers=headers), 403, "`board_key`")
    upload = {"data": {"source_key": setup["other_source"], "sync_parsing": "1"}}
    answer = client.post(
        "/v1/profile/parsing/file", files={"file": ("cv.txt", ENGLISH_RESUME.encode())}, headers=headers, **upload
    )
    _refused(answer, 403, "`source_key`")


def test_a_talent_token_uploads_tracks_and_explains_on_its_own_pools(client, setup) -> None:
    headers = _partner(client, _token(client, _copilot(client, setup, "talent")))
    answer = client.post(
        "/v1/profile/parsing/file",
        data={"source_key": setup["source"], "sync_parsing": "1"},
        files={"file": ("cv.txt", ENGLISH_RESUME.encode())},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    uploaded = answer.json()["data"]["profile"]["key"]
    tracking = {"role": "candidate", "action": "apply", "source_key": setup["source"], "board_key": setup["board"]}
    answer = client.post(
        "/v1/tracking", json={**tracking, "profile_key": uploaded, "job_key": setup["job"]}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    pair = {
        "source_key": setup["source"],
        "board_key": setup["board"],
        "profile_key": uploaded,
        "job_key": setup["job"],
    }
    answer = client.get("/v1/job/upskilling", params=pair, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["meta"]["algorithm_key"] == TRAINABLE


def test_a_token_is_refused_on_every_route_its_copilot_type_does_not_use(client, setup) -> None:
    talent = _token(client, _copilot(client, setup, "talent"))
    recruiter = _partner(client, _token(client, _copilot(client, setup, "recruiter")))
    scoring = {"source_keys": json.dumps([setup["source"]]), "board_key": setup["board"], "job_key": setup["job"]}
    _refused(client.get("/v1/profiles/scoring", params=scoring, headers=talent), 403, "a talent copilot's token cannot")
    assert client.get("/v1/profiles/scoring", params=scoring, headers=recruiter).status_code == 200
    rating = {"role": "recruiter", "score": 1.0, "source_key": setup["source"], "board_key": setup["board"]}
    rating |= {"profile_key": setup["profile"], "job_key": setup["job"]}
    _refused(client.post("/v1/rating", json=rating, headers=talent), 403, "cannot call this route")
    assert client.post("/v1/rating", json=rating, headers=recruiter).status_code == 201
    job_text = {"text": "Python developer, Django and PostgreSQL.", "board_key": setup["other_board"]}
    _refused(client.post("/v1/job/parsing", json=job_text, headers=recruiter), 403, "`board_key`")
    assert (
        client.post("/v1/job/parsing", json={**job_text, "board_key": setup["board"]}, headers=recruiter).status_code
        == 201
    )
    for headers in (talent, recruiter):
        for method, path in (
            ("GET", f"/v1/profiles/searching?source_keys=%5B%22{setup['source']}%22%5D"),
            ("GET", f"/v1/profile/indexing?source_key={setup['source']}&key={setup['profile']}"),
            ("GET", "/v1/trackings?role=candidate"),
            ("GET", "/v1/copilots"),
            ("POST", "/v1/copilot/token"),
            ("GET", "/v1/audit"),
        ):
            _refused(client.request(method, path, headers=headers), 403, "cannot call this route")


def test_revoked_changed_or_switched_off_tokens_open_nothing(client, setup, admin_key: str) -> None:
    key = _copilot(client, setup, "talent")
    headers = _partner(client, _token(client, key))
    query = {"source_key": setup["source"], "board_keys": json.dumps([setup["board"]]), "profile_key": setup["profile"]}
    assert client.get("/v1/jobs/scoring", params=query, headers=headers).status_code == 200
    tampered = {
        "Authorization": headers["Authorization"][:-2] + ("AA" if not headers["Authorization"].endswith("AA") else "BB")
    }
    _refused(client.get("/v1/jobs/scoring", params=query, headers=tampered), 401, "not valid")
    _refused(
        client.get("/v1/jobs/scoring", params=query, headers={"Authorization": "Bearer nope"}), 401, "Missing X-API-KEY"
    )
    admin = {"X-API-KEY": admin_key}
    assert client.post("/v1/copilot/disable", json={"key": key}, headers=admin).status_code == 200
    _refused(client.get("/v1/jobs/scoring", params=query, headers=headers), 403, "switched off")
    assert client.post("/v1/copilot/disable", json={"key": key, "disabled": False}, headers=admin).status_code == 200
    assert client.get("/v1/jobs/scoring", params=query, headers=headers).status_code == 200
    assert client.post("/v1/copilot/revoke", json={"key": key}, headers=admin).status_code == 200
    _refused(client.get("/v1/jobs/scoring", params=query, headers=headers), 401, "revoked")
