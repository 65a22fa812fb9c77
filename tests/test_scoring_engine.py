"""The scoring engine through the API: structured features move the ranking, filters are row masks
(location radius included), thresholds, date sorting with scores, and jobs for a profile."""

from __future__ import annotations

import json

import pytest
from helpers import PYTHON_JOB, SETTINGS, make_batcher, make_workspace, stop_workspace

from cerebro_serve.index import IndexRegistry
from cerebro_serve.record_features import REFUSES_SCORING, REFUSES_SEARCHING

PARIS = {"lat": 48.8566, "lng": 2.3522}
LYON = {"lat": 45.764, "lng": 4.8357}


@pytest.fixture
def pools(client) -> tuple[str, str]:
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    return source, board


def _index_profile(
    client,
    source: str,
    reference: str,
    summary: str,
    skills: list[str],
    years: float,
    place: dict | None = None,
    **extra,
) -> str:
    body = extra | {
        "source_key": source,
        "reference": reference,
        "info": {"full_name": reference, "summary": summary, "location": {"text": "somewhere", **(place or {})}},
        "experiences": [
            {
                "title": "Backend developer",
                "company": "Acme",
                "date_start": f"{2024 - int(years)}-01-01",
                "date_end": "2024-01-01",
            }
        ],
        "skills": [{"name": name, "type": "hard"} for name in skills],
    }
    response = client.post("/v1/profile/indexing", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["key"]


def _scoring(client, source: str, board: str, job_key: str, **params) -> dict:
    query = {"source_keys": json.dumps([source]), "board_key": board, "job_key": job_key, "sort_by": "scoring"}
    response = client.get("/v1/profiles/scoring", params=query | params)
    assert response.status_code == 200, response.text
    return response.json()


def test_skills_and_experience_lift_a_candidate(client, pools) -> None:
    source, board = pools
    summary = "Backend developer building web services and APIs."
    _index_profile(client, source, "covered", summary, ["Python", "Django", "PostgreSQL", "Docker"], 7)
    _index_profile(client, source, "uncovered", summary, ["PHP", "Laravel"], 1)
    response = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board})
    assert response.status_code == 201, response.text
    job = response.json()["data"]
    body = _scoring(client, source, board, job["key"])
    references = [profile["reference"] for profile in body["data"]["profiles"]]
    scores = [prediction[1] for prediction in body["data"]["predictions"]]
    assert references == ["covered", "uncovered"]
    assert scores[0] > scores[1] and all(0 <= s <= 1 for s in scores)


def test_location_radius_filters_through_the_index(client, pools) -> None:
    source, board = pools
    _index_profile(client, source, "paris", "Python developer", ["Python"], 3, PARIS)
    _index_profile(client, source, "lyon", "Python developer", ["Python"], 3, LYON)
    _index_profile(client, source, "nowhere", "Python developer", ["Python"], 3)
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]
    near = _scoring(client, source, board, job["key"], location_geopoint=json.dumps(PARIS), location_distance=50)
    assert [p["reference"] for p in near["data"]["profiles"]] == ["paris"] and near["meta"]["total"] == 1
    wide = _scoring(
        client, source, board, job["key"], location_lat=PARIS["lat"], location_lon=PARIS["lng"], location_dist=500
    )
    assert sorted(p["reference"] for p in wide["data"]["profiles"]) == ["lyon", "paris"]
    half = {"source_keys": json.dumps([source]), "board_key": board, "job_key": job["key"], "location_distance": 5}
    response = client.get("/v1/profiles/scoring", params=half)
    assert response.status_code == 400 and "location_geopoint" in response.json()["message"]


def test_threshold_and_date_order_keep_scores(client, pools) -> None:
    source, board = pools
    _index_profile(client, source, "first", "Python Django developer", ["Python", "Django"], 6)
    _index_profile(client, source, "second", "Pastry chef", ["Baking"], 2)
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]
    ranked = _scoring(client, source, board, job["key"])
    by_reference = {p["reference"]: s[1] for p, s in zip(ranked["data"]["profiles"], ranked["data"]["predictions"])}
    threshold = (by_reference["first"] + by_reference["second"]) / 2
    kept = _scoring(client, source, board, job["key"], score_threshold=threshold)
    assert [p["reference"] for p in kept["data"]["profiles"]] == ["first"] and kept["meta"]["total"] == 1
    dated = _scoring(client, source, board, job["key"], sort_by="created_at", order_by="asc")
    assert [p["reference"] for p in dated["data"]["profiles"]] == ["first", "second"]
    assert [s[1] for s in dated["data"]["predictions"]] == pytest.approx(
        [by_reference["first"], by_reference["second"]]
    )


def test_jobs_for_a_profile_rank_the_matching_job_first(client, pools) -> None:
    source, board = pools
    key = _index_profile(client, source, "dev", "Senior Python engineer, Django REST APIs", ["Python", "Django"], 8)
    client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board})
    client.post(
        "/v1/job/indexing",
        json={
            "board_key": board,
            "name": "Pastry chef",
            "summary": "Bake viennoiseries and cakes.",
            "skills": [{"name": "Baking"}],
        },
    )
    params = {"board_keys": json.dumps([board]), "source_key": source, "profile_key": key, "sort_by": "scoring"}
    body = client.get("/v1/jobs/scoring", params=params).json()
    assert [job["name"] for job in body["data"]["jobs"]] == [PYTHON_JOB["name"], "Pastry chef"]
    assert body["data"]["predictions"][0][1] > body["data"]["predictions"][1][1]


def test_archived_profiles_leave_the_ranking_and_come_back(client, pools) -> None:
    source, board = pools
    key = _index_profile(client, source, "dev", "Python developer", ["Python"], 4)
    _index_profile(client, source, "other", "Python developer", ["Python"], 4)
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]
    client.patch("/v1/profile/indexing/archive", json={"source_key": source, "key": key})
    assert [p["reference"] for p in _scoring(client, source, board, job["key"])["data"]["profiles"]] == ["other"]
    client.patch("/v1/profile/indexing/archive", json={"source_key": source, "key": key, "is_archive": 0})
    assert len(_scoring(client, source, board, job["key"])["data"]["profiles"]) == 2


def test_profiles_matching_ranks_peers_and_leaves_the_anchor_out(client, pools) -> None:
    source, _ = pools
    anchor = _index_profile(client, source, "anchor", "Python backend developer, Django APIs", ["Python", "Django"], 5)
    _index_profile(client, source, "peer", "Backend engineer writing Python and Django services", ["Python"], 4)
    _index_profile(client, source, "chef", "Pastry chef baking viennoiseries", ["Baking"], 9)
    params = {"source_key": source, "profile_key": anchor, "sort_by": "scoring"}
    body = client.get("/v1/profiles/matching", params=params).json()
    assert body["message"] == "Profile Matching results"
    assert [p["reference"] for p in body["data"]["profiles"]] == ["peer", "chef"]
    assert body["meta"]["total"] == 2 and body["data"]["predictions"][0][1] > body["data"]["predictions"][1][1]


def test_jobs_matching_uses_the_jobs_own_board_by_default(client, pools) -> None:
    _, board = pools
    first = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]
    client.post(
        "/v1/job/indexing",
        json={"board_key": board, "name": "Django developer", "summary": "Python and Django web applications."},
    )
    client.post("/v1/job/indexing", json={"board_key": board, "name": "Pastry chef", "summary": "Cakes."})
    body = client.get(
        "/v1/jobs/matching", params={"board_key": board, "job_key": first["key"], "sort_by": "scoring"}
    ).json()
    assert [job["name"] for job in body["data"]["jobs"]] == ["Django developer", "Pastry chef"]


def test_a_saturated_encoder_answers_429_and_stores_nothing(store, encoder, tmp_path, admin_key) -> None:
    from litestar.testing import TestClient

    from cerebro_serve.api import create_app

    saturated = make_batcher(encoder, max_pending=0)
    workspace = make_workspace(store, saturated, tmp_path / "indexes", admin_key)
    try:
        with TestClient(create_app(workspace, SETTINGS.max_body_bytes), base_url="http://testserver.local") as client:
            client.headers["X-API-KEY"] = admin_key
            source = client.post("/v1/source", json={"name": "Busy"}).json()["data"]["key"]
            response = client.post("/v1/profile/indexing", json={"source_key": source, "text": "python developer"})
            assert response.status_code == 429 and response.headers["retry-after"] == "1"
            assert response.json()["code"] == 429 and "retry" in response.json()["message"]
            listed = client.get("/v1/storing/profiles", params={"source_keys": json.dumps([source])}).json()
            assert listed["meta"]["total"] == 0
    finally:
        stop_workspace(workspace)  # its threads must not outlive the store (a PostgreSQL schema is dropped)
        saturated.close()


def test_consent_refusals_leave_profiles_out_of_that_use(client, pools, workspace) -> None:
    source, board = pools
    summary = "Python developer"
    _index_profile(client, source, "agrees", summary, ["Python"], 3)
    _index_profile(
        client,
        source,
        "no-scoring",
        summary,
        ["Python"],
        3,
        consent_algorithmic={"owner": {"scoring": False, "searching": True}, "controller": {}},
    )
    _index_profile(
        client,
        source,
        "no-searching",
        summary,
        ["Python"],
        3,
        consent_algorithmic={"owner": {}, "controller": {"searching": False}},
    )
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]

    def scored() -> list[str]:
        return sorted(p["reference"] for p in _scoring(client, source, board, job["key"])["data"]["profiles"])

    def searched() -> list[str]:
        response = client.get("/v1/profiles/searching", params={"source_keys": json.dumps([source])})
        assert response.status_code == 200, response.text
        return sorted(p["reference"] for p in response.json()["data"]["profiles"])

    assert scored() == ["agrees", "no-searching"]
    assert searched() == ["agrees", "no-scoring"]
    # A registry rebuilt from the store (as after a restart without index files) keeps the refusals.
    rebuilt_index, stale = IndexRegistry(
        workspace.store, None, workspace.registry.model, workspace.encoder.dimension
    ).open(source)
    assert stale == []
    rebuilt = rebuilt_index.columns.snapshot()
    refusals = dict(zip(rebuilt.record_ids[: rebuilt.rows].tolist(), rebuilt.refusals[: rebuilt.rows].tolist()))
    assert sorted(refusals.values()) == [0, REFUSES_SCORING, REFUSES_SEARCHING]
