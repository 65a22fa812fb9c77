"""Ratings and trackings: validated, durable, listed with filters and paging, imported in bulk without
duplicates when an import is run again."""

from __future__ import annotations

import json

import pytest
from helpers import PYTHON_JOB

from cerebro_serve.services import Workspace


@pytest.fixture
def pair(client) -> dict[str, str]:
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    for reference in ("ada", "bob"):
        body = {"source_key": source, "reference": reference, "info": {"full_name": reference}, "text": "python"}
        assert client.post("/v1/profile/indexing", json=body).status_code == 201
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board, "reference": "job-1"})
    return {"source_key": source, "board_key": board, "job_key": job.json()["data"]["key"]}


def test_rating_is_stored_and_listed(client, pair) -> None:
    body = pair | {
        "profile_reference": "ada",
        "score": 0.8,
        "role": "recruiter",
        "author_email": "r@x.io",
        "comment": "good fit",
        "created_at": "2024-05-01T10:00:00.000+00:00",
    }
    response = client.post("/v1/rating", json=body)
    assert response.status_code == 201, response.text
    rating = response.json()["data"]
    assert rating["score"] == 0.8 and rating["profile_reference"] == "ada" and rating["job_reference"] == "job-1"
    assert rating["created_at"] == "2024-05-01T10:00:00+00:00" and len(rating["key"]) == 40
    again = client.post("/v1/rating", json=body).json()["data"]  # the same event sent twice is stored once
    assert again["key"] == rating["key"]
    client.post("/v1/rating", json=pair | {"profile_reference": "bob", "score": 0.2, "role": "recruiter"})
    listed = client.get(
        "/v1/ratings",
        params={
            "role": "recruiter",
            "board_key": pair["board_key"],
            "job_key": pair["job_key"],
            "return_profile": "True",
        },
    ).json()
    assert [item["score"] for item in listed["data"]] == [0.8, 0.2] and listed["meta"]["total"] == 2
    assert listed["data"][0]["profile"]["reference"] == "ada"
    one = client.get(
        "/v1/ratings",
        params={"role": "recruiter", "source_key": pair["source_key"], "profile_reference": "bob", "limit": 1},
    ).json()
    assert [item["score"] for item in one["data"]] == [0.2]
    assert client.get("/v1/ratings", params={"role": "manager"}).json()["meta"]["total"] == 0


def test_tracking_is_stored_and_filtered_by_action(client, pair) -> None:
    for reference, action in (("ada", "view"), ("ada", "interview"), ("bob", "view")):
        response = client.post(
            "/v1/tracking", json=pair | {"profile_reference": reference, "action": action, "role": "candidate"}
        )
        assert response.status_code == 201, response.text
    listed = client.get(
        "/v1/trackings",
        params={"role": "candidate", "actions": json.dumps(["view"]), "board_keys": json.dumps([pair["board_key"]])},
    ).json()
    assert sorted(item["profile_reference"] for item in listed["data"]) == ["ada", "bob"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"score": 1.5}, "score"),
        ({"role": "boss"}, "role"),
        ({"profile_reference": "nobody"}, "Unable to find object: profile"),
        ({"job_key": "0" * 40}, "Unable to find object: job"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_stored(client, pair, change, message) -> None:
    body = pair | {"profile_reference": "ada", "score": 0.5, "role": "recruiter"} | change
    response = client.post("/v1/rating", json=body)
    assert response.status_code == 400 and message in response.json()["message"], response.text
    assert client.get("/v1/ratings", params={"role": "recruiter"}).json()["meta"]["total"] == 0


def test_ratings_filtered_by_the_profiles_place_and_years(client, pair) -> None:
    people = {
        "paris-senior": ({"lat": 48.8566, "lng": 2.3522}, "2014-01-01", "2009-09-01"),
        "lyon-junior": ({"lat": 45.764, "lng": 4.8357}, "2022-01-01", "2017-09-01"),
    }
    for reference, (place, started, studied) in people.items():
        body = {
            "source_key": pair["source_key"],
            "reference": reference,
            "info": {"full_name": reference, "location": {"text": "x", **place}},
            "experiences": [{"title": "Developer", "date_start": started, "date_end": "2024-01-01"}],
            "educations": [{"title": "Degree", "date_start": studied, "date_end": f"{int(studied[:4]) + 3}-06-30"}],
        }
        assert client.post("/v1/profile/indexing", json=body).status_code == 201
        client.post("/v1/rating", json=pair | {"profile_reference": reference, "score": 0.5, "role": "recruiter"})

    def listed(**params) -> list[str]:
        response = client.get("/v1/ratings", params={"role": "recruiter"} | params)
        assert response.status_code == 200, response.text
        return sorted(item["profile_reference"] for item in response.json()["data"])

    assert listed(location_lat=48.85, location_lon=2.35, location_distance=50) == ["paris-senior"]
    assert listed(location_lat=48.85, location_lon=2.35, location_distance=500) == ["lyon-junior", "paris-senior"]
    assert listed(experiences_duration_min=5) == ["paris-senior"]
    assert listed(experiences_duration_max=5) == ["lyon-junior"]
    assert listed(educations_duration_min=2.5, experiences_duration_min=1) == ["lyon-junior", "paris-senior"]
    assert listed(experiences_duration_min=5, limit=1, page=2) == []
    refused = client.get(
        "/v1/ratings",
        params={
            "role": "recruiter",
            "location_distance": 10,
            "location_lat": 48.8,
            "location_lon": 2.3,
            "use_location_experience": "True",
        },
    )
    assert refused.status_code == 400 and "use_location_experience" in refused.json()["message"]
    refused = client.get("/v1/ratings", params={"role": "recruiter", "location_distance": 10})
    assert refused.status_code == 400 and "location_lat" in refused.json()["message"]


def test_bulk_import_resumes_without_duplicates(client, pair, workspace: Workspace) -> None:
    lines = [
        json.dumps(
            pair
            | {
                "profile_reference": reference,
                "score": score,
                "role": "recruiter",
                "created_at": f"2024-01-0{day}T09:00:00+00:00",
            }
        )
        for day, (reference, score) in enumerate((("ada", 0.9), ("bob", 0.1), ("ada", 0.6)), start=1)
    ]
    lines.insert(1, json.dumps(pair | {"profile_reference": "carol", "score": 0.5, "role": "recruiter"}))
    lines.insert(2, "{not json")
    # An interrupted first run: only the first two lines made it.
    first = workspace.feedback.import_lines("rating", lines[:2])
    assert (first.stored, first.duplicates) == (1, 0) and first.rejected[0][0] == 2
    report = workspace.feedback.import_lines("rating", lines)
    assert (report.stored, report.duplicates) == (2, 1)
    assert [number for number, _ in report.rejected] == [2, 3]
    assert "Unable to find object: profile" in report.rejected[0][1]
    assert client.get("/v1/ratings", params={"role": "recruiter"}).json()["meta"]["total"] == 3


def test_jsonl_upload_and_cli_import(client, pair, workspace: Workspace, tmp_path) -> None:
    line = json.dumps(
        pair | {"profile_reference": "ada", "action": "hire", "role": "recruiter", "created_at": "2023-03-01"}
    )
    body = (line + "\n" + "{}\n").encode()
    report = client.post("/v1/trackings/import", content=body).json()["data"]
    assert report["stored"] == 1 and report["duplicates"] == 0 and report["rejected"][0]["line"] == 2
    assert client.post("/v1/trackings/import", content=body).json()["data"]["duplicates"] == 1

    from cerebro_serve import cli

    path = tmp_path / "ratings.jsonl"
    path.write_text(
        json.dumps(pair | {"profile_reference": "bob", "score": 0.4, "role": "recruiter", "created_at": "2023-03-02"})
        + "\n"
    )
    # The CLI opens the same store, as an operator would.
    settings = cli.Settings.from_env(data_dir=tmp_path / "cli", database_url=workspace.store.url)
    assert cli.import_feedback(settings, "rating", path) == 0
    assert cli.import_feedback(settings, "rating", path) == 0  # a rerun: nothing twice
    listed = client.get("/v1/ratings", params={"role": "recruiter"}).json()
    assert listed["meta"]["total"] == 1 and listed["data"][0]["score"] == 0.4
