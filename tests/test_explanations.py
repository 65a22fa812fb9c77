"""Grading and upskilling: explanations that add up to the score the scoring routes give."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import StoredTraining

PARIS = {"lat": 48.8566, "lng": 2.3522}
RESUME = """Camille Laurent
camille@mail.example

EXPERIENCE
2016 - 2024  Data Engineer, Datalake SA, Paris
Built batch pipelines in Python and SQL; ran Spark jobs on a Hadoop cluster.

EDUCATION
Master of Science in Computer Science, Sorbonne University

SKILLS
Python, SQL, Spark, Git
"""
JOB = {
    "reference": "data-eng",
    "name": "Senior Data Engineer",
    "summary": "Run our streaming and batch data platform in Paris.",
    "requirements": "5 years of experience with Python, Spark, Kubernetes, Airflow and Terraform. "
    "Bachelor's degree required. English.",
    "skills": [
        {"name": "Python", "type": "hard"},
        {"name": "Apache Spark", "type": "hard"},
        {"name": "Kubernetes", "type": "hard"},
        {"name": "Apache Airflow", "type": "hard"},
        {"name": "Terraform", "type": "hard"},
        {"name": "SQL", "type": "hard"},
    ],
    "languages": [{"name": "English"}],
    "location": {"text": "Paris", **PARIS},
}


def _profile(source: str, reference: str, **extra) -> dict:
    return {
        "source_key": source,
        "reference": reference,
        "info": {"full_name": "Camille Laurent", "location": {"text": "Paris 11e", "lat": 48.859, "lng": 2.38}},
        "text": RESUME,
        "skills": [{"name": "Python", "type": "hard"}, {"name": "SQL", "type": "hard"}],
        "languages": [{"name": "English"}, {"name": "French"}],
        "experiences": [
            {"title": "Data Engineer", "company": "Datalake SA", "date_start": "2016-01-01", "date_end": "2024-01-01"}
        ],
        **extra,
    }


@pytest.fixture
def pair(client, pools) -> tuple[str, str]:
    source, board = pools
    assert client.post("/v1/job/indexing", json={**JOB, "board_key": board}).status_code == 201
    other = {**JOB, "reference": "analyst", "name": "Data Analyst", "skills": [{"name": "SQL"}], "requirements": "SQL."}
    assert client.post("/v1/job/indexing", json={**other, "board_key": board}).status_code == 201
    assert client.post("/v1/profile/indexing", json=_profile(source, "camille")).status_code == 201
    for number, text in enumerate(("Accountant: ledgers, audits and Excel.", "Nurse in a Paris hospital.")):
        body = {"source_key": source, "reference": f"other-{number}", "text": text}
        assert client.post("/v1/profile/indexing", json=body).status_code == 201
    return source, board


def _query(source: str, board: str, **extra) -> dict:
    return {
        "source_key": source,
        "board_key": board,
        "profile_reference": "camille",
        "job_reference": "data-eng",
        **extra,
    }


def _scored(client, kind: str, source: str, board: str, algorithm: str, **extra) -> tuple[dict, list]:
    """The scoring route's score of the pair (the page holding the graded record)."""
    if kind == "profile":
        params = {"source_keys": json.dumps([source]), "board_key": board, "job_reference": "data-eng"}
    else:
        params = {"board_keys": json.dumps([board]), "source_key": source, "profile_reference": "camille"}
    params.update(sort_by="scoring", algorithm_key=algorithm, **extra)
    body = client.get(f"/v1/{kind}s/scoring", params=params).json()
    assert body["code"] == 200, body
    wanted = "camille" if kind == "profile" else "data-eng"
    items = body["data"][f"{kind}s"]
    at = next(i for i, item in enumerate(items) if item["reference"] == wanted)
    return body, body["data"]["predictions"][at] + [at]


def _check_adds_up(explanation: dict) -> None:
    total = explanation["reference_logit"] + sum(c["contribution"] for c in explanation["categories"])
    assert abs(total - explanation["logit"]) < 1e-6
    for category in explanation["categories"]:
        assert abs(sum(f["contribution"] for f in category["features"]) - category["contribution"]) < 1e-9
        for part in category["features"]:
            assert abs(part["linear"] + part["trees"] - part["contribution"]) < 1e-9
            assert abs(part["linear"] - part["weight"] * (part["value"] - 0.5)) < 1e-6
    assert abs(1 / (1 + math.exp(-explanation["logit"])) - explanation["score"]) < 1e-6


@pytest.mark.parametrize("kind", ["profile", "job"])
@pytest.mark.parametrize("algorithm", ["cerebro-base", "cerebro-match"])
def test_grading_is_the_scoring_routes_score_taken_apart(client, pair, kind, algorithm) -> None:
    source, board = pair
    graded = client.get(f"/v1/{kind}/grading", params=_query(source, board, algorithm_key=algorithm)).json()
    assert graded["code"] == 200, graded
    assert graded["meta"] == {"algorithm_key": algorithm, "algorithm_version": 1}
    explanation = graded["data"]["explanation"]
    _, (_, score, _) = _scored(client, kind, source, board, algorithm)
    assert graded["data"]["score"] == explanation["score"]
    assert abs(explanation["score"] - score) < 1e-6
    _check_adds_up(explanation)
    assert [c["name"] for c in explanation["categories"]] == [
        "skills",
        "job_titles",
        "experience",
        "education",
        "languages",
        "location",
        "text",
    ]


def _trained_version(client, workspace) -> str:
    """A fork whose active version 2 is what a training publishes: a refitted fusion (weights corrected,
    trees rescaled) and a query adapter on the full-text vectors."""
    body = {"base": "cerebro-trainable", "name": "Trained", "labeller_role": "recruiter"}
    key = client.post("/v1/algorithm", json=body).json()["data"]["key"]
    base = base_algorithm()
    rng = np.random.default_rng(7)
    side = workspace.encoder.dimension
    trained = dataclasses.replace(
        base,
        weights=(base.weights * 1.3 + rng.normal(0, 0.5, len(base.weights))).astype(np.float32),
        bias=base.bias - 0.4,
        trees=dataclasses.replace(base.trees, value=(base.trees.value * 1.3).astype(np.float32)),
        adapter=(np.eye(side) + rng.normal(0, 0.02, (side, side))).astype(np.float32),
        preferred_words=("hadoop", "kubernetes"),
    )
    learning = workspace.store.learning
    now = now_us()
    learning.add_training(
        StoredTraining("t" * 40, key, "running", "{}", 0.5, None, None, None, False, 0, "request", now, now)
    )
    assert learning.publish_version("t" * 40, key, now, trained.to_json(), "{}", "[]") == 2
    return key


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind", ["profile", "job"])
def test_a_trained_version_with_an_adapter_is_explained_exactly(client, workspace, pair, kind) -> None:
    source, board = pair
    key = _trained_version(client, workspace)
    graded = client.get(f"/v1/{kind}/grading", params=_query(source, board, algorithm_key=key)).json()
    assert graded["meta"] == {"algorithm_key": key, "algorithm_version": 2}
    _, (_, score, _) = _scored(client, kind, source, board, key)
    assert abs(graded["data"]["score"] - score) < 1e-6
    _check_adds_up(graded["data"]["explanation"])
    # The words it learnt the recruiters favour are named where they count: profiles ranked for a job.
    [text] = [c for c in graded["data"]["explanation"]["categories"] if c["name"] == "text"]
    preferred = next(part for part in text["features"] if part["feature"] == "preferred_terms")
    if kind == "profile":
        assert 0 < preferred["value"] < 1  # Camille's resume names Hadoop, not Kubernetes
        assert "favour beyond the job's text: hadoop and kubernetes." in text["text"]
    else:
        assert preferred["value"] == 0.5 and "favour" not in text["text"]


def _at(record: dict, path: str) -> str:
    """The stored field a path such as `experiences[0].skills[1].name` names."""
    value: object = record
    for part in path.split("."):
        name, _, index = part.partition("[")
        value = value[name]  # type: ignore[index]
        if index:
            value = value[int(index.rstrip("]"))]  # type: ignore[index]
    return value  # type: ignore[return-value]


def test_evidence_spans_are_in_the_stored_records(client, pair) -> None:
    source, board = pair
    explanation = client.get("/v1/job/upskilling", params=_query(source, board)).json()["data"]
    profile = client.get("/v1/profile/indexing", params={"source_key": source, "reference": "camille"}).json()["data"]
    job = client.get("/v1/job/indexing", params={"board_key": board, "reference": "data-eng"}).json()["data"]
    skills = explanation["categories"][0]
    # Named as the job names them; the taxonomy id says which concept (ESCO's "Python (computer programming)").
    assert {fact["name"] for fact in skills["found"]} == {"SQL", "Python"}
    assert all(fact["taxonomy_id"] for fact in skills["found"])
    assert len(skills["missing"]) == 4
    spans = 0
    for fact in skills["found"] + skills["missing"]:
        assert fact["job_evidence"], fact  # every skill the job asks for is shown where it asks
        for side, record in (("profile_evidence", profile), ("job_evidence", job)):
            for span in fact[side]:
                assert _at(record, span["field"])[span["start"] : span["end"]] == span["text"]
                spans += 1
        assert not fact["profile_evidence"] or fact in skills["found"]
    assert spans >= 10
    sections = {span["section"] for fact in skills["found"] for span in fact["profile_evidence"]}
    assert {"experience", "skills"} <= sections  # spans of the resume carry the section they sit in


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind", ["profile", "job"])
def test_the_top_suggestion_raises_the_score_by_its_predicted_gain(client, pair, kind) -> None:
    source, board = pair
    upskilling = client.get(f"/v1/{kind}/upskilling", params=_query(source, board)).json()["data"]
    suggestions = upskilling["suggestions"]
    assert suggestions and all(s["gain"] > 0 for s in suggestions)
    assert [s["gain"] for s in suggestions] == sorted((s["gain"] for s in suggestions), reverse=True)
    top = suggestions[0]
    profile = client.get("/v1/profile/indexing", params={"source_key": source, "reference": "camille"}).json()["data"]
    edited = {"source_key": source, "key": profile["key"], "skills": [*profile["skills"], top["skill"]]}
    assert client.put("/v1/profile/indexing", json=edited).status_code == 200
    after = client.get(f"/v1/{kind}/grading", params=_query(source, board)).json()["data"]["explanation"]
    assert abs(after["logit"] - upskilling["logit"] - top["gain"]) < 1e-6
    assert abs(after["score"] - top["score"]) < 1e-6
    assert top["skill"]["name"] in {fact["name"] for fact in after["categories"][0]["found"]}


def test_a_profile_refusing_consent_is_refused_not_scored(client, pair) -> None:
    source, board = pair
    for reference, consent in (
        ("no-scoring", {"owner": {"scoring": False}}),
        ("no-upskilling", {"controller": {"upskilling": False}}),
    ):
        body = _profile(source, reference, consent_algorithmic=consent)
        assert client.post("/v1/profile/indexing", json=body).status_code == 201
    query = _query(source, board, profile_reference="no-scoring")
    for path in ("profile/grading", "job/grading", "profile/upskilling", "job/upskilling"):
        answer = client.get(f"/v1/{path}", params=query).json()
        assert answer["code"] == 403 and "consent to scoring" in answer["message"] and "data" not in answer
    query = _query(source, board, profile_reference="no-upskilling")
    assert client.get("/v1/profile/grading", params=query).json()["code"] == 200
    answer = client.get("/v1/profile/upskilling", params=query).json()
    assert answer["code"] == 403 and "consent to upskilling" in answer["message"]


def test_bad_pairs_are_refused_with_a_reason(client, pair) -> None:
    source, board = pair
    cases = [
        ({"source_key": source, "board_key": board, "job_reference": "data-eng"}, "profile_key"),
        ({"source_key": source, "board_key": board, "profile_reference": "camille"}, "job_key"),
        (_query(source, board, job_reference="nope"), "Unable to find object: job"),
        (_query(source, board, output_lang="it"), "output_lang"),
        (_query(source, board, algorithm_key="missing"), "Unable to find object: algorithm"),
    ]
    for params, message in cases:
        answer = client.get("/v1/profile/grading", params=params).json()
        assert answer["code"] == 400 and message in answer["message"], (params, answer)
    answer = client.get("/v1/profile/upskilling", params=_query(source, board, score=1.5)).json()
    assert answer["code"] == 400 and "score" in answer["message"]


def test_sentences_in_four_languages_name_only_facts_of_the_records(client, pair) -> None:
    source, board = pair
    texts = {}
    for lang in ("en", "fr", "es", "de"):
        explanation = client.get("/v1/profile/upskilling", params=_query(source, board, output_lang=lang)).json()[
            "data"
        ]
        assert explanation["lang"] == lang
        by_name = {category["name"]: category for category in explanation["categories"]}
        texts[lang] = by_name["languages"]["text"]
        assert "Terraform" in by_name["skills"]["text"] and "SQL" in by_name["skills"]["text"]
        assert all(s["skill"]["name"] in s["text"] for s in explanation["suggestions"])
    assert texts == {
        "en": "Speaks English and French; the job asks for English.",
        "fr": "Parle anglais et français ; le poste demande anglais.",
        "es": "Habla inglés y francés; el puesto pide inglés.",
        "de": "Spricht Englisch und Französisch; die Stelle verlangt Englisch.",
    }


def test_a_criterion_without_data_says_so_and_weighs_nothing(client, pools) -> None:
    source, board = pools
    job = {"board_key": board, "reference": "data-eng", "name": "Data Engineer", "summary": "Pipelines in Python."}
    assert client.post("/v1/job/indexing", json=job).status_code == 201
    profile = {"source_key": source, "reference": "camille", "text": "Python developer."}
    assert client.post("/v1/profile/indexing", json=profile).status_code == 201
    explanation = client.get("/v1/profile/grading", params=_query(source, board)).json()["data"]["explanation"]
    by_name = {category["name"]: category for category in explanation["categories"]}
    for name, said in (("education", "No degree level"), ("languages", "No languages"), ("location", "No location")):
        assert not by_name[name]["has_data"] and by_name[name]["contribution"] == 0.0
        assert by_name[name]["text"].startswith(said)
    assert by_name["experience"]["expected"] is None and not by_name["experience"]["has_data"]
    _check_adds_up(explanation)


def test_scoring_pages_carry_explanations_on_request(client, pair) -> None:
    source, board = pair
    body, _ = _scored(client, "profile", source, board, "cerebro-base", explain="true", output_lang="de")
    explanations = body["data"]["explanations"]
    assert len(explanations) == len(body["data"]["profiles"]) == 3
    for explanation, (_, score) in zip(explanations, body["data"]["predictions"]):
        assert abs(explanation["score"] - score) < 1e-6 and explanation["lang"] == "de"
        _check_adds_up(explanation)
        assert explanation["suggestions"] is None
        assert all(not fact["profile_evidence"] for fact in explanation["categories"][0]["found"])
    body, _ = _scored(client, "job", source, board, "cerebro-base", explain="true")
    assert len(body["data"]["explanations"]) == 2
    plain, _ = _scored(client, "profile", source, board, "cerebro-base")
    assert "explanations" not in plain["data"]


def test_the_sdk_grades_unchanged(live_server, admin_key, pair) -> None:
    from hrflow import Hrflow

    source, board = pair
    sdk = Hrflow(api_url=live_server, api_secret=admin_key)
    profile = sdk.profile.storing.get(source, reference="camille")["data"]
    job = sdk.job.storing.get(board, reference="data-eng")["data"]
    graded = sdk.profile.grading.get("cerebro-base", source, board, profile_key=profile["key"], job_key=job["key"])
    assert graded["code"] == 200 and 0 < graded["data"]["score"] < 1
    assert graded["meta"]["algorithm_key"] == "cerebro-base"
