"""Bad input gets a 400 (or 413, 415) envelope naming the parameter and its limit, never a 500."""

from __future__ import annotations

import json
import socket
import time

import msgspec
import pytest
from helpers import PYTHON_JOB, PYTHON_RESUME, profile

DEEP = "[" * 5000 + "]" * 5000


@pytest.fixture
def anchors(client, pools) -> dict[str, str]:
    source, board = pools
    profile_key = client.post("/v1/profile/indexing", json=profile(PYTHON_RESUME, source_key=source)).json()
    job_key = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()
    return {
        "source": source,
        "board": board,
        "profile": profile_key["data"]["key"],
        "job": job_key["data"]["key"],
    }


def _refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status and response.headers["content-type"] == "application/json"
    for word in words:
        assert word in body["message"], body["message"]


@pytest.mark.parametrize("path", ["/v1/profile/indexing", "/v1/profiles/searching", "/v1/rating", "/v1/algorithm"])
def test_deeply_nested_json_bodies_are_400(client, anchors, path: str) -> None:
    body = f'{{"source_key": "{anchors["source"]}", "tags": {DEEP}}}'.encode()
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    _refused(response, 400, "nested deeper than 1000 levels")


def test_deeply_nested_json_query_parameters_are_400(client) -> None:
    _refused(client.get("/v1/storing/profiles", params={"source_keys": DEEP}), 400, "`source_keys`", "1000 levels")


@pytest.mark.parametrize("page", [2**62, 2**70])
@pytest.mark.parametrize("path", ["/v1/storing/profiles", "/v1/profiles/scoring", "/v1/profiles/searching"])
def test_pages_past_the_limit_are_400(client, anchors, path: str, page: int) -> None:
    params = {
        "source_keys": json.dumps([anchors["source"]]),
        "board_key": anchors["board"],
        "job_key": anchors["job"],
        "page": str(page),
    }
    _refused(client.get(path, params=params), 400, "`page`", "1000000000")


def test_a_deep_page_of_a_small_pool_is_empty_not_an_error(client, anchors) -> None:
    params = {
        "source_keys": json.dumps([anchors["source"]]),
        "board_key": anchors["board"],
        "job_key": anchors["job"],
        "page": "1000000000",
        "limit": "1000",
        "sort_by": "scoring",
    }
    response = client.get("/v1/profiles/scoring", params=params)
    assert response.status_code == 200 and response.json()["data"]["profiles"] == []


def test_too_many_or_too_long_keywords_are_400(client, anchors) -> None:
    sources = json.dumps([anchors["source"]])
    many = client.get(
        "/v1/profiles/searching", params={"source_keys": sources, "text_keywords": json.dumps(["a"] * 5000)}
    )
    _refused(many, 400, "`text_keywords`", "<= 50")
    long = client.post(
        "/v1/profiles/searching", json={"source_keys": [anchors["source"]], "text_keywords": ["a" * 100_000]}
    )
    _refused(long, 400, "`text_keywords", "<= 256")


@pytest.mark.parametrize(
    ("live_learning", "field", "limit"),
    [({"after_events": 2**70}, "after_events", "1000000000"), ({"every_hours": 1e308}, "every_hours", "87840")],
)
def test_absurd_live_learning_rules_are_400(client, live_learning: dict, field: str, limit: str) -> None:
    body = {"base": "cerebro-trainable", "name": "x", "labeller_role": "recruiter", "live_learning": live_learning}
    _refused(client.post("/v1/algorithm", json=body), 400, field, limit)


def test_absurd_ratings_are_400(client, anchors) -> None:
    body = {"score": 2**70, "role": "recruiter", "source_key": anchors["source"], "board_key": anchors["board"]}
    body |= {"profile_key": anchors["profile"], "job_key": anchors["job"]}
    _refused(client.post("/v1/rating", json=body), 400, "`score`", "<= 1.0")


@pytest.mark.parametrize("path", ["/v1/profile/indexing", "/v1/rating", "/v1/profiles/scoring", "/v1/text/tagging"])
def test_bodies_that_are_not_json_are_415(client, path: str) -> None:
    response = client.post(
        path, content=b"source_key=x&text=y", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    _refused(response, 415, "application/json")


def test_file_names_over_the_limit_are_refused(client, anchors) -> None:
    fields = {"source_key": anchors["source"], "sync_parsing": "1"}
    long = client.post(
        "/v1/profile/parsing/file", data=fields, files={"file": ("a" * 300 + ".txt", b"x", "text/plain")}
    )
    _refused(long, 400, "longer than 255 characters")
    huge = client.post(
        "/v1/profile/parsing/file", data=fields, files={"file": ("a" * 5000 + ".txt", b"x", "text/plain")}
    )
    _refused(huge, 413, "too long")


def test_unknown_documentation_pages_and_wrong_methods_are_enveloped(client) -> None:
    _refused(client.get("/docs/no-such-page"), 404, "no route GET /docs/no-such-page")
    wrong = client.delete("/v1/profile/indexing")
    _refused(wrong, 405, "DELETE is not allowed")
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST", "PUT"}


def test_headers_over_the_limit_get_an_envelope(live_server: str) -> None:
    """uvicorn refuses them before the app runs; the server's protocol words that refusal as an envelope."""
    host, port = live_server.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        # Headers that never end, past h11's 16 KiB: the server answers without waiting for the rest.
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for _ in range(4):
            connection.sendall(b"X-Big: " + b"a" * 8_000 + b"\r\n")
            time.sleep(0.05)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head.lower()
    assert msgspec.json.decode(body) == {
        "code": 400,
        "message": "Bad Request. The request line or headers could not be read: malformed, or over 16 KiB.",
    }
