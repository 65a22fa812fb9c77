"""Every answer, errors included, is the HrFlow envelope with the right status; bad input stores nothing."""

from __future__ import annotations

import json

import pytest
from helpers import PYTHON_JOB, PYTHON_RESUME, profile

from cerebro_serve.services import Workspace


def assert_envelope(response, status: int, contains: str = "") -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert contains.lower() in body["message"].lower(), body["message"]
    return body


def stored_profiles(workspace: Workspace, source: str) -> int:
    return workspace.store.pools.get_pool("source", source, with_size=True).size


def test_success_is_an_envelope_with_exact_content_type(client, pools) -> None:
    source, _ = pools
    body = assert_envelope(client.get("/v1/source", params={"key": source}), 200)
    assert body["data"]["key"] == source and len(source) == 40
    assert body["data"]["name"] == "Candidates"


def test_missing_key_is_401(client) -> None:
    del client.headers["X-API-KEY"]
    assert_envelope(client.get("/v1/auth"), 401, "missing x-api-key")


@pytest.mark.parametrize("key", ["nope", "ask_" + "0" * 32, "askr_" + "f" * 32])
def test_wrong_key_is_401(client, key: str) -> None:
    assert_envelope(client.get("/v1/sources", headers={"X-API-KEY": key}), 401, "invalid secret key")


def test_read_only_key_reads_but_cannot_write(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    read_key = workspace.keys.create("read")
    assert read_key.startswith("askr_")
    headers = {"X-API-KEY": read_key}
    body = assert_envelope(client.get("/v1/auth", headers=headers), 200)
    assert body["data"]["api_key_permission"] == "read"
    response = client.post("/v1/profile/indexing", json={"source_key": source, "text": "x"}, headers=headers)
    assert_envelope(response, 403, "read-only")
    assert stored_profiles(workspace, source) == 0


def test_write_only_key_writes_but_cannot_read(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    headers = {"X-API-KEY": workspace.keys.create("write")}
    created = client.post("/v1/profile/indexing", json=profile("writer", source_key=source), headers=headers)
    assert_envelope(created, 201)
    assert_envelope(client.get("/v1/sources", headers=headers), 403, "write-only")


def test_unknown_route_and_wrong_method_are_enveloped(client) -> None:
    assert_envelope(client.get("/v1/nothing/here"), 404)
    assert_envelope(client.delete("/v1/profile/indexing"), 405)


def test_malformed_json_is_400_and_stores_nothing(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    response = client.post(
        "/v1/profile/indexing",
        content=b'{"source_key": "' + source.encode() + b'", "text": ',
        headers={"Content-Type": "application/json"},
    )
    assert_envelope(response, 400, "malformed json")
    assert_envelope(client.post("/v1/profile/indexing", content=b"[1, 2]"), 400, "json object")
    assert_envelope(client.post("/v1/profile/indexing", content=b""), 400, "empty")
    assert stored_profiles(workspace, source) == 0


def test_wrong_types_name_the_field_and_store_nothing(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    response = client.post("/v1/profile/indexing", json={"source_key": source, "text": 42})
    assert_envelope(response, 400, "`text`")
    response = client.post("/v1/profile/indexing", json={"source_key": source, "info": {"location": {"lat": 500}}})
    assert_envelope(response, 400, "info.location.lat")
    response = client.post(
        "/v1/profile/indexing", json={"source_key": source, "skills": [{"name": "x", "type": "meh"}]}
    )
    assert_envelope(response, 400, "skills[0].type")
    assert stored_profiles(workspace, source) == 0


def test_edit_with_a_wrongly_typed_key_is_400(client, pools) -> None:
    source, _ = pools
    assert_envelope(client.put("/v1/profile/indexing", json={"source_key": source, "key": 12}), 400, "`key`")
    assert_envelope(client.put("/v1/profile/indexing", json={"source_key": source, "text": "x"}), 400, "key")


def test_missing_parameters_are_400(client, pools) -> None:
    source, board = pools
    assert_envelope(client.post("/v1/profile/indexing", json={"text": "no source"}), 400, "source_key")
    assert_envelope(client.get("/v1/profiles/scoring", params={"board_key": board, "job_key": "k"}), 400, "source_keys")
    params = {"source_keys": json.dumps([source]), "board_key": board}
    assert_envelope(client.get("/v1/profiles/scoring", params=params), 400, "job_key")
    assert_envelope(client.post("/v1/job/indexing", json={"board_key": board, "summary": "no name"}), 400, "name")
    assert_envelope(client.post("/v1/source", json={}), 400, "name")


def test_malformed_parameters_are_400(client, pools) -> None:
    source, board = pools
    base = {"source_keys": json.dumps([source]), "board_key": board, "job_key": "k" * 40}
    assert_envelope(client.get("/v1/profiles/scoring", params={**base, "source_keys": "[not json"}), 400, "source_keys")
    assert_envelope(client.get("/v1/profiles/scoring", params={**base, "page": "zero"}), 400, "page")
    assert_envelope(client.get("/v1/profiles/scoring", params={**base, "page": "0"}), 400, "page")
    assert_envelope(client.get("/v1/profiles/scoring", params={**base, "sort_by": "location"}), 400, "sort_by")
    assert_envelope(client.get("/v1/profiles/scoring", params={**base, "score_threshold": "2"}), 400, "score_threshold")
    assert_envelope(
        client.get("/v1/profiles/scoring", params={**base, "created_at_min": "yesterday"}), 400, "created_at_min"
    )
    assert_envelope(client.get("/v1/profiles/scoring", params={**base, "use_agent": "maybe"}), 400, "use_agent")


def test_unknown_objects_say_unable_to_find(client, pools) -> None:
    source, board = pools
    missing = "0" * 40
    assert_envelope(client.get("/v1/source", params={"key": missing}), 400, "Unable to find object: source")
    assert_envelope(client.get("/v1/board", params={"key": missing}), 400, "Unable to find object: board")
    assert_envelope(
        client.get("/v1/profile/indexing", params={"source_key": source, "key": missing}),
        400,
        "Unable to find object: profile",
    )
    assert_envelope(
        client.get("/v1/job/indexing", params={"board_key": board, "reference": "nope"}),
        400,
        "Unable to find object: job",
    )
    assert_envelope(
        client.post("/v1/profile/indexing", json=profile("x", source_key=missing)), 400, "Unable to find object: source"
    )
    params = {"source_keys": json.dumps([missing]), "board_key": board, "job_key": missing}
    assert_envelope(client.get("/v1/profiles/scoring", params=params), 400, "Unable to find object")
    assert_envelope(
        client.patch("/v1/profile/indexing/archive", json={"source_key": source, "key": missing}),
        400,
        "Unable to find object: profile",
    )


def test_oversized_body_is_413_and_stores_nothing(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    huge = profile("x" * (300 * 1024), source_key=source)
    assert_envelope(client.post("/v1/profile/indexing", json=huge), 413)
    assert stored_profiles(workspace, source) == 0


def test_duplicate_reference_is_409_and_keeps_the_first(client, workspace: Workspace, pools) -> None:
    source, _ = pools
    assert_envelope(
        client.post("/v1/profile/indexing", json=profile(PYTHON_RESUME, source_key=source, reference="r1")), 201
    )
    assert_envelope(
        client.post("/v1/profile/indexing", json=profile("other", source_key=source, reference="r1")),
        409,
        "already exists",
    )
    kept = client.get("/v1/profile/indexing", params={"source_key": source, "reference": "r1"}).json()["data"]
    assert kept["text"] == PYTHON_RESUME
    assert stored_profiles(workspace, source) == 1


def test_bad_supplied_key_is_400(client, pools) -> None:
    source, _ = pools
    assert_envelope(client.post("/v1/profile/indexing", json=profile("x", source_key=source, key="short")), 400, "40")


def test_unknown_parameters_are_ignored(client, pools) -> None:
    source, board = pools
    job = client.post("/v1/job/indexing", json={"board_key": board, **PYTHON_JOB}).json()["data"]
    params = {
        "source_keys": json.dumps([source]),
        "board_key": board,
        "job_key": job["key"],
        "use_agent": "1",
        "some_future_flag": "True",
    }
    assert_envelope(client.get("/v1/profiles/scoring", params=params | {"stage": ""}), 200)


def test_filters_that_cannot_be_applied_are_refused_not_ignored(client, pools) -> None:
    source, board = pools
    job = client.post("/v1/job/indexing", json={"board_key": board, **PYTHON_JOB}).json()["data"]
    params = {
        "source_keys": json.dumps([source]),
        "board_key": board,
        "job_key": job["key"],
        "interests": json.dumps([{"name": "chess", "value": "expert"}]),
    }
    assert_envelope(client.get("/v1/profiles/scoring", params=params), 400, "a minimum level (`value`) is not stored")
    body = {"source_keys": [source], "board_key": board, "job_key": job["key"], "ranges_float": [{"name": "pay"}]}
    assert_envelope(client.post("/v1/profiles/scoring", json=body), 400, "`ranges_float` filters jobs only")


def test_wrapped_and_flat_bodies_both_index(client, pools) -> None:
    source, board = pools
    flat = client.post("/v1/profile/indexing", json=profile(PYTHON_RESUME, source_key=source, reference="flat"))
    wrapped = client.post(
        "/v1/profile/indexing", json={"source_key": source, "profile": profile("nurse", reference="wrapped")}
    )
    job = client.post("/v1/job/indexing", json={"board_key": board, "job": {**PYTHON_JOB, "reference": "j"}})
    for response in (flat, wrapped, job):
        assert_envelope(response, 201)
    assert wrapped.json()["data"]["reference"] == "wrapped"
    assert wrapped.json()["data"]["source_key"] == source
    assert job.json()["data"]["board"]["key"] == board


def test_openapi_docs_are_served_without_a_key(client) -> None:
    del client.headers["X-API-KEY"]
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    assert "/v1/profiles/scoring" in response.json()["paths"]
