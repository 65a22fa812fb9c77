"""The public `hrflow` SDK, unchanged, against a running server: the compatibility promise."""

from __future__ import annotations

import pytest
from helpers import ACCOUNTANT_RESUME, CHEF_RESUME, NURSE_RESUME, PYTHON_JOB, PYTHON_RESUME, profile
from hrflow import Hrflow

NURSE_JOB = {
    "name": "ICU Registered Nurse",
    "summary": "Care for critically ill patients in our intensive care unit.",
    "requirements": "Registered nurse licence, ACLS, IV therapy experience.",
}


@pytest.fixture
def sdk(live_server: str, admin_key: str) -> Hrflow:
    return Hrflow(api_url=live_server, api_secret=admin_key, api_user="recruiter@example.com")


@pytest.fixture
def pools(sdk: Hrflow, workspace) -> tuple[str, str]:
    # Sources and boards are created through our admin route (the SDK has no call for it).
    from cerebro_serve.objects import JOB, PROFILE
    from cerebro_serve.services.queries import PoolCreate

    source = workspace.pools.create(PROFILE, PoolCreate(name="Talent pool")).key
    board = workspace.pools.create(JOB, PoolCreate(name="Open roles")).key
    return source, board


def _ok(response: dict, code: int = 200) -> dict:
    assert response["code"] == code, response
    return response


def test_auth_and_pools(sdk: Hrflow, pools) -> None:
    source, board = pools
    auth = _ok(sdk.auth.get())
    assert auth["data"]["api_key_permission"] == "all"
    assert _ok(sdk.source.get(key=source))["data"]["name"] == "Talent pool"
    assert _ok(sdk.board.get(key=board))["data"]["key"] == board
    listed = _ok(sdk.source.list(name="talent"))
    assert [s["key"] for s in listed["data"]] == [source]
    assert listed["meta"] == {"page": 1, "maxPage": 1, "count": 1, "total": 1}
    assert "Unable to find object: source" in sdk.source.get(key="0" * 40)["message"]


def test_index_get_edit_archive_and_list(sdk: Hrflow, pools) -> None:
    source, _ = pools
    created = _ok(sdk.profile.storing.add_json(source, profile(PYTHON_RESUME, reference="cand-1")), 201)["data"]
    assert len(created["key"]) == 40 and created["source_key"] == source
    assert created["source"]["key"] == source and created["reference"] == "cand-1"
    assert created["created_at"] and created["archived_at"] is None

    by_reference = _ok(sdk.profile.storing.get(source, reference="cand-1"))["data"]
    assert by_reference["key"] == created["key"] and by_reference["text"] == PYTHON_RESUME

    edited = _ok(sdk.profile.storing.edit(source, {"key": created["key"], "tags": [{"name": "vip", "value": True}]}))
    assert edited["data"]["tags"] == [{"name": "vip", "value": True}]
    assert edited["data"]["text"] == PYTHON_RESUME  # fields not given are kept

    _ok(sdk.profile.storing.add_json(source, profile(NURSE_RESUME, reference="cand-2")), 201)
    listing = _ok(sdk.profile.storing.list(source_keys=[source], limit=1, return_profile=True))
    assert listing["meta"] == {"page": 1, "maxPage": 2, "count": 1, "total": 2}
    assert listing["data"][0]["reference"] == "cand-2"  # newest first
    summaries = _ok(sdk.profile.storing.list(source_keys=[source], page=2, limit=1))
    assert set(summaries["data"][0]) >= {"key", "reference", "created_at"}
    assert "text" not in summaries["data"][0]

    archived = _ok(sdk.profile.storing.archive(source, key=created["key"]))
    assert archived["data"] == {"key": created["key"]}
    assert _ok(sdk.profile.storing.get(source, key=created["key"]))["data"]["archived_at"]
    remaining = _ok(sdk.profile.storing.list(source_keys=[source]))
    assert [p["reference"] for p in remaining["data"]] == ["cand-2"]


def test_jobs_index_get_edit_archive(sdk: Hrflow, pools) -> None:
    _, board = pools
    job = _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB, "reference": "job-1"}), 201)["data"]
    assert job["board_key"] == board and job["name"] == PYTHON_JOB["name"]
    edited = _ok(sdk.job.storing.edit(board, {"reference": "job-1", "summary": "Remote-first team."}))["data"]
    assert edited["summary"] == "Remote-first team." and edited["key"] == job["key"]
    assert _ok(sdk.job.storing.get(board, key=job["key"]))["data"]["summary"] == "Remote-first team."
    _ok(sdk.job.storing.archive(board, reference="job-1"))
    assert _ok(sdk.job.storing.list(board_keys=[board]))["meta"]["total"] == 0
    assert "Unable to find object: job" in sdk.job.storing.get(board, key="0" * 40)["message"]


def test_a_profile_written_for_the_job_ranks_first_both_ways(sdk: Hrflow, pools) -> None:
    source, board = pools
    for reference, text in [
        ("chef", CHEF_RESUME),
        ("python", PYTHON_RESUME),
        ("nurse", NURSE_RESUME),
        ("accountant", ACCOUNTANT_RESUME),
    ]:
        _ok(sdk.profile.storing.add_json(source, profile(text, reference=reference)), 201)
    python_job = _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB, "reference": "py"}), 201)["data"]
    _ok(sdk.job.storing.add_json(board, {**NURSE_JOB, "reference": "icu"}), 201)

    scored = _ok(
        sdk.profile.scoring.list(
            source_keys=[source], board_key=board, job_key=python_job["key"], sort_by="scoring", order_by="desc"
        )
    )
    profiles, predictions = scored["data"]["profiles"], scored["data"]["predictions"]
    assert [p["reference"] for p in profiles][0] == "python"
    assert scored["meta"]["count"] == len(profiles) == len(predictions) == 4
    scores = [p[1] for p in predictions]
    assert scores == sorted(scores, reverse=True)
    assert all(len(p) == 2 and abs(p[0] + p[1] - 1) < 1e-6 and 0 <= p[1] <= 1 for p in predictions)
    assert scores[0] > 0.5 > scores[-1]

    nurse = _ok(sdk.profile.storing.get(source, reference="nurse"))["data"]
    jobs = _ok(sdk.job.scoring.list(board_keys=[board], source_key=source, profile_key=nurse["key"], sort_by="scoring"))
    assert [j["reference"] for j in jobs["data"]["jobs"]] == ["icu", "py"]
    assert jobs["data"]["predictions"][0][1] > jobs["data"]["predictions"][1][1]


def test_scoring_by_reference_with_sdk_defaults_sorts_by_date(sdk: Hrflow, pools) -> None:
    source, board = pools
    for reference, text in [("first", NURSE_RESUME), ("second", PYTHON_RESUME)]:
        _ok(sdk.profile.storing.add_json(source, profile(text, reference=reference)), 201)
    _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB, "reference": "py"}), 201)
    # SDK default: sort_by=created_at, so newest first, each with its own score.
    scored = _ok(sdk.profile.scoring.list(source_keys=[source], board_key=board, job_reference="py"))
    assert [p["reference"] for p in scored["data"]["profiles"]] == ["second", "first"]
    python_score, nurse_score = (p[1] for p in scored["data"]["predictions"])
    assert python_score > nurse_score


def test_scoring_filters_threshold_and_paging(sdk: Hrflow, pools) -> None:
    source, board = pools
    texts = [
        ("python", PYTHON_RESUME, "Paris"),
        ("nurse", NURSE_RESUME, "Paris"),
        ("chef", CHEF_RESUME, "Berlin"),
        ("accountant", ACCOUNTANT_RESUME, "Berlin"),
    ]
    for reference, text, city in texts:
        tags = [{"name": "city", "value": city}]
        _ok(sdk.profile.storing.add_json(source, profile(text, reference=reference, tags=tags)), 201)
    job = _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB}), 201)["data"]
    common = dict(source_keys=[source], board_key=board, job_key=job["key"], sort_by="scoring")

    paris = _ok(sdk.profile.scoring.list(**common, tags_included=[[{"name": "city", "value": "Paris"}]]))
    assert [p["reference"] for p in paris["data"]["profiles"]] == ["python", "nurse"]
    not_paris = _ok(sdk.profile.scoring.list(**common, tags_excluded=[[{"name": "city", "value": "Paris"}]]))
    assert {p["reference"] for p in not_paris["data"]["profiles"]} == {"chef", "accountant"}
    keyword = _ok(sdk.profile.scoring.list(**common, text_keywords=["triage"]))
    assert [p["reference"] for p in keyword["data"]["profiles"]] == ["nurse"]

    everything = _ok(sdk.profile.scoring.list(**common))["data"]["predictions"]
    cut = (everything[0][1] + everything[1][1]) / 2
    strong = _ok(sdk.profile.scoring.list(**common, score_threshold=cut))
    assert strong["meta"]["total"] == 1 and strong["data"]["profiles"][0]["reference"] == "python"

    page_two = _ok(sdk.profile.scoring.list(**common, page=2, limit=3))
    assert page_two["meta"] == {
        "page": 2,
        "maxPage": 2,
        "count": 1,
        "total": 4,
        "algorithm_key": "cerebro-base",
        "algorithm_version": 1,
    }
    assert page_two["data"]["predictions"][0] == everything[3]
    ascending = _ok(sdk.profile.scoring.list(**common, order_by="asc", limit=1))
    assert ascending["data"]["predictions"][0] == everything[3]

    past = _ok(sdk.profile.scoring.list(**common, created_at_max="2000-01-01"))
    assert past["meta"]["total"] == 0 and past["data"]["profiles"] == []


def test_archived_profiles_are_never_scored_or_searched(sdk: Hrflow, pools) -> None:
    source, board = pools
    kept = _ok(sdk.profile.storing.add_json(source, profile(NURSE_RESUME)), 201)["data"]
    gone = _ok(sdk.profile.storing.add_json(source, profile(PYTHON_RESUME)), 201)["data"]
    job = _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB}), 201)["data"]
    _ok(sdk.profile.storing.archive(source, key=gone["key"]))
    scored = _ok(sdk.profile.scoring.list(source_keys=[source], board_key=board, job_key=job["key"]))
    assert [p["key"] for p in scored["data"]["profiles"]] == [kept["key"]]
    searched = _ok(sdk.profile.searching.list(source_keys=[source]))
    assert [p["key"] for p in searched["data"]["profiles"]] == [kept["key"]]
    # Restoring puts it back.
    # SDK 4.3 always sends is_archive=1; restoring goes through its generic PATCH.
    _ok(sdk.patch("profile/indexing/archive", json={"source_key": source, "key": gone["key"], "is_archive": 0}).json())
    rescored = _ok(
        sdk.profile.scoring.list(source_keys=[source], board_key=board, job_key=job["key"], sort_by="scoring")
    )
    assert rescored["data"]["profiles"][0]["key"] == gone["key"]


def test_searching_lists_filters_and_ranks_by_keywords(sdk: Hrflow, pools) -> None:
    source, board = pools
    for reference, text in [("python", PYTHON_RESUME), ("nurse", NURSE_RESUME), ("chef", CHEF_RESUME)]:
        _ok(sdk.profile.storing.add_json(source, profile(text, reference=reference)), 201)
    listed = _ok(sdk.profile.searching.list(source_keys=[source], limit=2))
    assert listed["meta"]["total"] == 3 and [p["reference"] for p in listed["data"]["profiles"]] == ["chef", "nurse"]
    assert "predictions" not in listed["data"]
    found = _ok(sdk.profile.searching.list(source_keys=[source], text_keywords=["kitchen"]))
    assert [p["reference"] for p in found["data"]["profiles"]] == ["chef"]

    _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB, "reference": "py"}), 201)
    _ok(sdk.job.storing.add_json(board, {**NURSE_JOB, "reference": "icu"}), 201)
    jobs = _ok(sdk.job.searching.list(board_keys=[board], text_keywords=["nurse"], sort_by="searching"))
    assert [j["reference"] for j in jobs["data"]["jobs"]] == ["icu"]


def test_post_json_scoring_matches_get(sdk: Hrflow, pools, live_server: str, admin_key: str) -> None:
    import requests

    source, board = pools
    _ok(sdk.profile.storing.add_json(source, profile(PYTHON_RESUME)), 201)
    _ok(sdk.profile.storing.add_json(source, profile(CHEF_RESUME)), 201)
    job = _ok(sdk.job.storing.add_json(board, {**PYTHON_JOB}), 201)["data"]
    get = sdk.profile.scoring.list(source_keys=[source], board_key=board, job_key=job["key"], sort_by="scoring")
    posted = requests.post(
        live_server + "profiles/scoring",
        headers={"X-API-KEY": admin_key},
        json={"source_keys": [source], "board_key": board, "job_key": job["key"], "sort_by": "scoring"},
        timeout=30,
    ).json()
    assert posted["data"] == get["data"] and posted["meta"] == get["meta"]


def test_ratings_and_trackings_through_the_sdk(sdk: Hrflow, pools) -> None:
    source, board = pools
    _ok(sdk.profile.storing.add_json(source_key=source, profile_json=profile(PYTHON_RESUME, reference="ada")), 201)
    _ok(sdk.job.storing.add_json(board_key=board, job_json={**PYTHON_JOB, "reference": "job-1"}), 201)
    rating = _ok(
        sdk.rating.post(
            score=0.8,
            role="recruiter",
            board_key=board,
            source_key=source,
            job_reference="job-1",
            profile_reference="ada",
            author_email="rec@example.com",
            comment="good fit",
            created_at="2024-05-01T10:00:00.000+00:00",
        ),
        201,
    )
    assert rating["data"]["score"] == 0.8
    _ok(
        sdk.tracking.post(
            action="apply",
            role="candidate",
            board_key=board,
            source_key=source,
            job_reference="job-1",
            profile_reference="ada",
            author_email="cand@example.com",
        ),
        201,
    )
    ratings = _ok(sdk.rating.get(role="recruiter", source_key=source, profile_reference="ada"))
    assert [item["comment"] for item in ratings["data"]] == ["good fit"]
    trackings = _ok(sdk.tracking.get(role="candidate", actions=["view", "apply"], board_keys=[board]))
    assert [item["action"] for item in trackings["data"]] == ["apply"]
    refused = sdk.rating.post(
        score=2, role="recruiter", board_key=board, source_key=source, job_reference="job-1", profile_reference="ada"
    )
    assert refused["code"] == 400 and "score" in refused["message"]
