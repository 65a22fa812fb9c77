"""A trained version that weighs a job's rated candidates (scoring/resemblance.py) reads them live when it
scores: the job's own ratings lift the new applicants like its good ones and lower those like its poor
ones; a job nobody rated scores as it would without them; a rated profile whose consent now refuses
training no longer counts, and the explanation says so."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from cerebro_serve.index import IndexRegistry
from cerebro_serve.scoring.algorithms import FEATURES, RatedBy, base_algorithm
from cerebro_serve.services.rated_candidates import RatedCandidates
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import StoredTraining

NURSES = (
    "Registered nurse: patient care on a surgical ward, wound dressing, medication rounds.",
    "Nurse in intensive care: ventilated patients, infusion pumps, night shifts.",
    "Paediatric nurse: vaccinations, triage and care plans for children.",
)
DEVELOPERS = (
    "Backend developer: Java microservices, Kafka and PostgreSQL.",
    "Frontend engineer building React interfaces and design systems.",
    "DevOps engineer: Kubernetes clusters, Terraform and CI pipelines.",
)
JOB = {
    "name": "Care coordinator",
    "reference": "care",
    "summary": "Coordinate the patients' journeys between departments.",
    "requirements": "Organised, at ease with people.",
}
WEIGHT = 8.0  # on rated_resemblance, the bias moved so that a neutral pair scores as the base


def _experienced(source: str, reference: str, text: str) -> dict:
    return {
        "source_key": source,
        "reference": reference,
        "text": text,
        "experiences": [{"title": text.split(":")[0], "description": text, "date_start": "2018-01-01"}],
    }


@pytest.fixture
def rated(client, workspace, pools) -> tuple[str, str, str]:
    """The care job rated by a recruiter (nurses good, developers poor), an unrated job, two applicants
    nobody rated, and a version trained on ratings that weighs the rated candidates."""
    source, board = pools
    for job in (JOB, {**JOB, "reference": "unrated"}):
        assert client.post("/v1/job/indexing", json={**job, "board_key": board}).status_code == 201
    for good, texts in ((1.0, NURSES), (0.0, DEVELOPERS)):
        for number, text in enumerate(texts):
            reference = f"{'nurse' if good else 'developer'}-{number}"
            assert client.post("/v1/profile/indexing", json=_experienced(source, reference, text)).status_code == 201
            rating = {"source_key": source, "board_key": board, "profile_reference": reference}
            rating |= {"job_reference": "care", "role": "recruiter", "score": good}
            assert client.post("/v1/rating", json=rating).status_code == 201
    applicants = {
        "new-nurse": "Nurse on a cardiology ward: patient monitoring and care plans.",
        "new-developer": "Software developer: Python services, Docker and PostgreSQL.",
    }
    for reference, text in applicants.items():
        assert client.post("/v1/profile/indexing", json=_experienced(source, reference, text)).status_code == 201
    body = {"base": "cerebro-trainable", "name": "Trained", "labeller_role": "recruiter"}
    key = client.post("/v1/algorithm", json=body).json()["data"]["key"]
    base = base_algorithm()
    weights = base.weights.copy()
    weights[FEATURES.index("rated_resemblance")] = WEIGHT
    trained = dataclasses.replace(
        base, weights=weights, bias=base.bias - WEIGHT * 0.5, rated_by=RatedBy("rating", "recruiter")
    )
    learning = workspace.store.learning
    learning.add_training(
        StoredTraining("t" * 40, key, "running", "{}", 0.5, None, None, None, False, 0, "request", now_us(), now_us())
    )
    assert learning.publish_version("t" * 40, key, now_us(), trained.to_json(), "{}", "[]") == 2
    return source, board, key


def _scores(client, source: str, board: str, job: str, algorithm: str) -> dict[str, float]:
    params = {"source_keys": json.dumps([source]), "board_key": board, "job_reference": job}
    body = client.get("/v1/profiles/scoring", params=params | {"algorithm_key": algorithm, "limit": 30}).json()
    assert body["code"] == 200, body
    return {
        p["reference"]: prediction[1] for p, prediction in zip(body["data"]["profiles"], body["data"]["predictions"])
    }


def _rated_criterion(client, source: str, board: str, algorithm: str, profile: str) -> dict:
    """The explanation's criterion "likeness to the candidates rated for this job"."""
    params = {"source_key": source, "board_key": board, "profile_reference": profile, "job_reference": "care"}
    graded = client.get("/v1/profile/grading", params=params | {"algorithm_key": algorithm}).json()
    assert graded["code"] == 200, graded
    return next(c for c in graded["data"]["explanation"]["categories"] if c["name"] == "rated")


def test_a_jobs_ratings_lift_applicants_like_its_good_candidates(client, rated) -> None:
    source, board, key = rated
    base, trained = (_scores(client, source, board, "care", algorithm) for algorithm in ("cerebro-base", key))
    assert trained["new-nurse"] > base["new-nurse"] and trained["new-developer"] < base["new-developer"]
    ranked = sorted(trained, key=trained.get, reverse=True)
    assert ranked.index("new-nurse") < ranked.index("new-developer")
    # A job nobody rated: every pair is neutral on the rated candidates, so the scores are the base's.
    unrated = _scores(client, source, board, "unrated", key)
    assert unrated == pytest.approx(_scores(client, source, board, "unrated", "cerebro-base"), abs=1e-6)
    # Jobs ranked for a profile: a profile's ratings come from many jobs' recruiters; neutral too.
    jobs = {"board_keys": json.dumps([board]), "source_key": source, "profile_reference": "new-nurse"}
    for_profile = [
        client.get("/v1/jobs/scoring", params=jobs | {"algorithm_key": algorithm}).json()["data"]["predictions"]
        for algorithm in (key, "cerebro-base")
    ]
    assert np.allclose(for_profile[0], for_profile[1], atol=1e-6)

    criterion = _rated_criterion(client, source, board, key, "new-nurse")
    [part] = criterion["features"]
    assert part["value"] > 0.5 and part["contribution"] > 0 and criterion["has_data"]
    assert criterion["text"].startswith("Its experience is closer to the candidates rated good for this job")
    # A rated candidate counts against the others only: the ratings do not simply echo themselves.
    assert 0.5 < _rated_criterion(client, source, board, key, "nurse-0")["features"][0]["value"] < 1
    # The base reads no ratings, and its explanations do not name them.
    params = {"source_key": source, "board_key": board, "profile_reference": "new-nurse", "job_reference": "care"}
    graded = client.get("/v1/profile/grading", params=params).json()["data"]["explanation"]
    assert "rated" not in [c["name"] for c in graded["categories"]]


def test_ratings_of_a_profile_that_now_refuses_training_no_longer_count(client, rated) -> None:
    """Read at every call (what one call read is kept until the feedback or the rated profiles change)."""
    source, board, key = rated
    assert _rated_criterion(client, source, board, key, "new-nurse")["features"][0]["value"] > 0.5
    for number in range(len(NURSES)):
        refused = {"source_key": source, "reference": f"nurse-{number}"}
        stored = client.get("/v1/profile/indexing", params=refused).json()["data"]
        withdrawn = {"source_key": source, "key": stored["key"], "consent_algorithmic": {"owner": {"training": False}}}
        assert client.put("/v1/profile/indexing", json=withdrawn).status_code == 200
    criterion = _rated_criterion(client, source, board, key, "new-nurse")
    assert criterion["features"][0]["value"] == 0.5 and not criterion["has_data"]
    assert criterion["text"].startswith("Plays no part here")
    assert _scores(client, source, board, "care", key) == pytest.approx(
        _scores(client, source, board, "care", "cerebro-base"), abs=1e-6
    )
    # A rating posted now counts at the next call: a nurse rated good again makes the contrast.
    rating = {"source_key": source, "board_key": board, "profile_reference": "new-nurse", "job_reference": "care"}
    assert client.post("/v1/rating", json=rating | {"role": "recruiter", "score": 1.0}).status_code == 201
    assert _rated_criterion(client, source, board, key, "nurse-0")["features"][0]["value"] > 0.5


def test_rated_candidates_of_a_pool_not_loaded_are_read_from_the_store(client, workspace, rated, tmp_path) -> None:
    """Their experience vectors come from the loaded pool's columns (int8, as the candidates'), else from
    the stored vectors: the same candidates, the same labels, vectors within the columns' rounding."""
    source, board, key = rated
    assert workspace.registry.loaded(source) is not None
    algorithm = workspace.algorithms.fusion(key, 2)
    job = workspace.store.records.find_record("job", board, reference="care")
    anchors, registry = workspace.ranking.anchors, workspace.registry
    loaded = RatedCandidates(workspace.store, registry, anchors.views_of).of(algorithm, job.id)
    nothing_loaded = IndexRegistry(workspace.store, tmp_path / "elsewhere", registry.model, registry.dimension)
    stored = RatedCandidates(workspace.store, nothing_loaded, anchors.views_of).of(algorithm, job.id)
    assert loaded is not None and stored is not None and len(loaded.ids) == 6
    assert np.array_equal(loaded.ids, stored.ids) and np.array_equal(loaded.good, stored.good)
    np.testing.assert_allclose(loaded.vectors, stored.vectors, atol=0.01)
    assert loaded.good.sum() == 3
