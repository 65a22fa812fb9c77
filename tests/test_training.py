"""Training end to end: fork, feedback, train on the worker, metrics, a new version that ranks
differently, rollback; consent and anonymisation applied; refusals on too little data."""

from __future__ import annotations

import json
import time

import msgspec
import numpy as np
import pytest
from helpers import LYON, PARIS
from helpers import PARIS_PYTHON_JOB as JOB

from cerebro_serve.objects import Profile
from cerebro_serve.scoring.algorithms import RatedBy
from cerebro_serve.training.anonymize import anonymized, scrub


def _profile(source: str, reference: str, place: dict, **extra) -> dict:
    return {
        "source_key": source,
        "reference": reference,
        "info": {
            "full_name": f"Person {reference}",
            "email": f"{reference}@mail.example",
            "location": {"text": "somewhere", **place},
        },
        "text": "Python developer building Django REST APIs with PostgreSQL for six years.",
        "skills": [{"name": "Python", "type": "hard"}, {"name": "Django", "type": "hard"}],
        **extra,
    }


def _wait(client, training_key: str) -> dict:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        training = client.get("/v1/algorithm/training", params={"training_key": training_key}).json()["data"]
        if training["status"] in ("succeeded", "held_for_review", "failed", "cancelled"):
            return training
        time.sleep(0.2)
    raise AssertionError(f"training {training_key} did not finish")


@pytest.fixture
def workspace_pools(client) -> tuple[str, str]:
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    return source, board


def _fork(client) -> str:
    body = {"base": "cerebro-trainable", "name": "Local hiring", "labeller_role": "recruiter"}
    return client.post("/v1/algorithm", json=body).json()["data"]["key"]


def _rating(source: str, board: str, profile: str, job: str, score: float, role: str = "recruiter") -> dict:
    """A rating body naming its profile and job by reference."""
    return {
        "source_key": source,
        "board_key": board,
        "profile_reference": profile,
        "job_reference": job,
        "role": role,
        "score": score,
    }


def _local_hiring(client, source: str, board: str) -> list[tuple[str, str, bool]]:
    """Recruiters of this workspace hire locally: 8 jobs in Paris, each with 3 Paris and 3 Lyon candidates
    (the same resume). The base algorithm ignores distance. Returns (profile ref, job ref, local)."""
    pairs = []
    for job_number in range(8):
        job = client.post("/v1/job/indexing", json={**JOB, "board_key": board, "reference": f"job-{job_number}"})
        assert job.status_code == 201, job.text
        for candidate in range(6):
            local = candidate % 2 == 0
            reference = f"p{job_number}-{candidate}"
            body = _profile(source, reference, PARIS if local else LYON)
            assert client.post("/v1/profile/indexing", json=body).status_code == 201
            pairs.append((reference, f"job-{job_number}", local))
    return pairs


def test_training_learns_what_recruiters_reward_and_rollback_restores(
    client, workspace, workspace_pools, monkeypatch
) -> None:
    source, board = workspace_pools
    key = _fork(client)
    ratings = [
        _rating(source, board, reference, job, 0.9 if local else 0.1)
        for reference, job, local in _local_hiring(client, source, board)
    ]
    # Two more whose owners did not allow their data to improve the model.
    for reference in ("private-1", "private-2"):
        body = _profile(source, reference, LYON, consent_algorithmic={"owner": {"learning": False}})
        assert client.post("/v1/profile/indexing", json=body).status_code == 201
        ratings.append(_rating(source, board, reference, "job-0", 0.95))
    for rating in ratings:
        assert client.post("/v1/rating", json=rating).status_code == 201

    # A fresh job and two candidates: the Lyon one has the stronger resume.
    client.post("/v1/job/indexing", json={**JOB, "board_key": board, "reference": "fresh"})
    scoring_source = client.post("/v1/source", json={"name": "Scoring"}).json()["data"]["key"]
    client.post("/v1/profile/indexing", json=_profile(scoring_source, "paris", PARIS, text="Python developer."))
    client.post("/v1/profile/indexing", json=_profile(scoring_source, "lyon", LYON))

    def ranking() -> tuple[list[str], dict]:
        body = client.get(
            "/v1/profiles/scoring",
            params={
                "source_keys": json.dumps([scoring_source]),
                "board_key": board,
                "job_reference": "fresh",
                "sort_by": "scoring",
                "algorithm_key": key,
            },
        ).json()
        return [p["reference"] for p in body["data"]["profiles"]], body["meta"]

    before, meta = ranking()
    assert before == ["lyon", "paris"] and meta["algorithm_version"] == 1

    seen = []
    describe = workspace.records.describe
    monkeypatch.setattr(workspace.records, "describe", lambda records: seen.extend(records) or describe(records))
    started = client.post("/v1/algorithm/training", json={"algorithm_key": key, "mode": "rating"})
    assert started.status_code == 201, started.text
    training = _wait(client, started.json()["data"]["training_key"])
    assert training["status"] == "succeeded", training
    assert training["version"] == 2 and training["progress"] == 1.0
    steps = {step["step"]: step for step in training["log"]}
    assert steps["privacy consent"]["dropped"] == 2
    assert steps["split by job and profile"]["validation_jobs"] == 2
    # Anonymised before features and embeddings: no name or email reached them.
    assert seen and all(
        not isinstance(r, Profile)
        or (r.info.full_name is None and r.info.email is None and "Person" not in (r.text or ""))
        for r in seen
    )
    metrics = training["metrics"]
    for part in ("train", "validation"):
        for name in ("accuracy", "precision", "recall", "f1", "auc", "mae", "mse", "ndcg@10", "map"):
            assert metrics[part][name] is not None, (part, name)
        assert len(metrics[part]["confusion_matrix"]) == 2 and len(metrics[part]["roc_curve"]["tpr"]) == 101
    assert metrics["validation"]["auc"] > 0.95 > metrics["previous_validation"]["auc"]
    assert isinstance(metrics["adapter"]["used"], bool)  # kept only when it ranks validation jobs better
    curve = metrics["loss_curve"]
    assert len(curve) > 2 and curve[-1]["train_loss"] < curve[0]["train_loss"]

    after, meta = ranking()
    assert after == ["paris", "lyon"] and meta["algorithm_version"] == 2
    # The version names the feedback it learnt from: scoring reads the same about a job's rated candidates.
    assert workspace.algorithms.fusion(key, 2).rated_by == RatedBy("rating", "recruiter")
    versions = client.get("/v1/algorithm", params={"algorithm_key": key}).json()["data"]["versions"]
    assert versions[1]["metrics"]["validation"]["auc"] == metrics["validation"]["auc"]
    assert client.post("/v1/algorithm/rollback", json={"algorithm_key": key, "version": 1}).status_code == 200
    assert ranking()[0] == before


def test_too_little_feedback_is_refused_with_how_many_more(client, workspace_pools) -> None:
    source, board = workspace_pools
    key = _fork(client)
    client.post("/v1/job/indexing", json={**JOB, "board_key": board, "reference": "job"})
    for number, score in enumerate((0.9, 0.8, 0.2)):
        client.post("/v1/profile/indexing", json=_profile(source, f"p{number}", PARIS))
        client.post("/v1/rating", json=_rating(source, board, f"p{number}", "job", score))
    started = client.post("/v1/algorithm/training", json={"algorithm_key": key}).json()["data"]
    training = _wait(client, started["training_key"])
    assert training["status"] == "failed" and training["version"] is None
    assert "2 positive and 1 negative" in training["error"] and "11 more positive" in training["error"]
    assert training["log"][0]["step"] == "select feedback"
    assert client.get("/v1/algorithm", params={"algorithm_key": key}).json()["data"]["active_version"] == 1


def test_training_requests_are_checked(client) -> None:
    base_fork = client.post(
        "/v1/algorithm", json={"base": "cerebro-base", "name": "x", "labeller_role": "recruiter"}
    ).json()["data"]["key"]
    response = client.post("/v1/algorithm/training", json={"algorithm_key": base_fork})
    assert response.status_code == 400 and "not trainable" in response.json()["message"]
    key = _fork(client)
    response = client.post("/v1/algorithm/training", json={"algorithm_key": key, "mode": "tracking"})
    assert response.status_code == 400 and "goals" in response.json()["message"]
    response = client.post("/v1/algorithm/training", json={"algorithm_key": key, "created_at_min": "soon"})
    assert response.status_code == 400 and "created_at_min" in response.json()["message"]
    missing = client.get("/v1/algorithm/training", params={"training_key": "0" * 40})
    assert missing.status_code == 400 and "Unable to find object: training" in missing.json()["message"]


def test_anonymisation_strips_who_a_person_is() -> None:
    profile = msgspec.convert(
        {
            "text": "Jane Doe\njane.doe@mail.com, +33 6 12 34 56 78, linkedin.com/in/janedoe\n"
            "Date of birth: 03/04/1990\n"
            "She led the data team at Acme (2019 - 2024). Mrs Doe speaks French.",
            "info": {
                "full_name": "Jane Doe",
                "email": "jane.doe@mail.com",
                "gender": "female",
                "date_birth": "1990-04-03",
                "picture": "http://x/jane.png",
                "location": {"text": "Paris"},
            },
        },
        Profile,
    )
    clean = anonymized(profile)
    assert clean.info.full_name is None and clean.info.email is None and clean.info.gender is None
    assert clean.info.date_birth is None and clean.info.picture is None and clean.info.location.text == "Paris"
    for gone in ("Jane", "Doe", "@", "56 78", "linkedin", "1990", "She", "Mrs"):
        assert gone not in clean.text, gone
    assert "led the data team at Acme (2019 - 2024)" in clean.text and "speaks French" in clean.text
    assert scrub("Call 2019 - 2024") == "Call 2019 - 2024"  # year ranges are not phone numbers
    for line in ("Age: 34", "Âge : 34 ans", "Edad: 34", "Alter: 34", "D.O.B.: 1990-04-03", "Born in 1990"):
        aged = anonymized(msgspec.convert({"text": f"Data engineer.\n{line}\nSpeaks French."}, Profile))
        assert aged.text is not None and "34" not in aged.text and "1990" not in aged.text, line
        assert "Data engineer." in aged.text and "Speaks French." in aged.text


def test_query_adapter_learns_a_relation_the_embeddings_miss() -> None:
    """Positives relate to their job through a linear map, decoys sit closer to it in the raw space: the
    adapter learnt on 40 jobs ranks the positive first for held-out jobs more often than the identity."""
    from cerebro_serve.training.adapter import fit_adapter

    rng = np.random.default_rng(0)
    dimension, count = 32, 60

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    jobs = unit(rng.normal(size=(count, dimension)))
    relation = np.eye(dimension) + 0.9 * rng.normal(size=(dimension, dimension)) / np.sqrt(dimension)
    positives = unit(jobs @ relation.T)
    decoys = unit(jobs + 0.9 * unit(rng.normal(size=(count, dimension))))
    train = range(40)
    adapter = fit_adapter(
        jobs,
        np.concatenate([positives, decoys]),
        [(i, i) for i in train],
        [(i, count + i) for i in train],
        lambda progress: False,
    )

    def wins(matrix: np.ndarray, rows: range) -> float:
        queries = jobs[list(rows)] @ matrix.T
        return float(np.mean([q @ positives[r] > q @ decoys[r] for q, r in zip(queries, rows)]))

    assert wins(adapter, train) > wins(np.eye(dimension), train) + 0.3
    held_out = range(40, count)
    assert wins(adapter, held_out) > wins(np.eye(dimension), held_out)
    assert np.abs(adapter - np.eye(dimension)).max() < 0.2  # pulled towards the identity


def test_an_adapter_survives_storage_and_serves_both_directions() -> None:
    from cerebro_serve.scoring.algorithms import Algorithm, base_algorithm

    rng = np.random.default_rng(1)
    adapter = (np.eye(384) + 0.01 * rng.normal(size=(384, 384))).astype(np.float32)
    algorithm = Algorithm("a", 2, base_algorithm().weights, base_algorithm().bias, base_algorithm().trees, adapter)
    loaded = Algorithm.from_json(algorithm.to_json())
    np.testing.assert_allclose(loaded.adapter, adapter, atol=1e-3)
    job, profile = rng.normal(size=384).astype(np.float32), rng.normal(size=384).astype(np.float32)
    # Profiles for a job search with A j, jobs for a profile with A^T p: the same similarity.
    assert np.isclose(loaded.adapt(job, is_job=True) @ profile, job @ loaded.adapt(profile, is_job=False), rtol=1e-4)


def test_tracking_mode_learns_from_the_journey(client, workspace, workspace_pools) -> None:
    source, board = workspace_pools
    goals = [
        {"action": "view", "outcome": "neutral"},
        {"action": "interview", "outcome": "positive"},
        {"action": "hire", "outcome": "positive"},
        {"action": "reject", "outcome": "negative"},
    ]
    key = client.post(
        "/v1/algorithm",
        json={"base": "cerebro-trainable", "name": "Journey", "labeller_role": "recruiter", "goals": goals},
    ).json()["data"]["key"]
    for reference, job, local in _local_hiring(client, source, board):
        for action in (("view", "interview") if local else ("view", "reject")) + ("unknown-stage",):
            client.post(
                "/v1/tracking",
                json={
                    "source_key": source,
                    "board_key": board,
                    "profile_reference": reference,
                    "job_reference": job,
                    "role": "recruiter",
                    "action": action,
                },
            )
    started = client.post("/v1/algorithm/training", json={"algorithm_key": key, "mode": "tracking"})
    training = _wait(client, started.json()["data"]["training_key"])
    assert training["status"] == "succeeded", training
    steps = {step["step"]: step for step in training["log"]}
    assert steps["map tracking actions to goals"]["dropped"] == 48  # the unknown stage, once per pair
    assert steps["label pairs"]["kept"] == 48 and steps["label pairs"]["positives"] == 24
    assert training["metrics"]["validation"]["auc"] > 0.95
    goal_pairs = tuple((goal["action"], goal["outcome"]) for goal in goals)
    assert workspace.algorithms.fusion(key, 2).rated_by == RatedBy("tracking", "recruiter", goal_pairs)


def test_live_learning_queues_a_training_after_enough_feedback(client, workspace, workspace_pools) -> None:
    source, board = workspace_pools
    workspace.training.worker.stop()  # so the test sees the queued training before it runs
    body = {
        "base": "cerebro-trainable",
        "name": "Live",
        "labeller_role": "candidate",
        "live_learning": {"mode": "rating", "after_events": 3},
    }
    algorithm = client.post("/v1/algorithm", json=body).json()["data"]
    assert algorithm["live_learning"] == {"mode": "rating", "after_events": 3, "every_hours": None}
    client.post("/v1/job/indexing", json={**JOB, "board_key": board, "reference": "job"})
    for number in range(3):
        workspace.training.check_live_learning()
        assert workspace.training.store.last_training(algorithm["key"]) is None
        client.post("/v1/profile/indexing", json=_profile(source, f"p{number}", PARIS))
        client.post("/v1/rating", json=_rating(source, board, f"p{number}", "job", 0.7, role="candidate"))
    workspace.training.check_live_learning()
    training = workspace.training.store.last_training(algorithm["key"])
    assert training is not None and training.status == "queued" and training.trigger == "threshold"
    workspace.training.check_live_learning()  # one at a time: nothing more while it waits
    assert workspace.training.store.last_training(algorithm["key"]).key == training.key
    refused = client.post("/v1/algorithm", json=body | {"base": "cerebro-base"})
    assert refused.status_code == 400 and "trainable" in refused.json()["message"]


def test_cancel_a_queued_and_a_running_training(workspace) -> None:
    from cerebro_serve.services.queries import AlgorithmCreate, TrainingCreate
    from cerebro_serve.services.training_worker import TrainingWorker

    service = workspace.training
    service.worker.stop()
    key = workspace.algorithms.fork(AlgorithmCreate(base="cerebro-trainable", name="x", labeller_role="recruiter"))[
        "key"
    ]
    queued = service.start(TrainingCreate(algorithm_key=key))
    assert service.cancel(queued["training_key"])["status"] == "cancelled"
    with pytest.raises(Exception, match="already cancelled"):
        service.cancel(queued["training_key"])

    steps = []

    def runner(training, should_stop):  # stands for a long training: it stops when asked
        from cerebro_serve.training.trainer import Cancelled

        while not should_stop(0.5):
            steps.append(training.key)
            if len(steps) == 3:
                service.cancel(training.key)
        raise Cancelled

    running = service.start(TrainingCreate(algorithm_key=key))
    TrainingWorker(service.store, runner).run_pending()
    final = service.get(running["training_key"])
    assert final["status"] == "cancelled" and final["version"] is None and len(steps) == 3
    assert workspace.algorithms.get(key)["active_version"] == 1


def test_a_training_interrupted_by_a_stop_runs_again(workspace) -> None:
    from cerebro_serve.services.queries import AlgorithmCreate, TrainingCreate
    from cerebro_serve.services.training_worker import TrainingWorker

    service = workspace.training
    service.worker.stop()
    key = workspace.algorithms.fork(AlgorithmCreate(base="cerebro-trainable", name="x", labeller_role="recruiter"))[
        "key"
    ]
    training = service.start(TrainingCreate(algorithm_key=key))["training_key"]
    # What a crash leaves behind: the training marked running, nothing published.
    assert service.store.update_training(training, "queued", status="running")
    worker = TrainingWorker(service.store, service._run)
    worker.start()  # a restart
    deadline = time.monotonic() + 60
    while service.get(training)["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.stop()
    final = service.get(training)
    assert final["status"] == "failed" and "not enough labels" in final["error"]  # it ran again, to the end


def test_encoder_fine_tuning_learns_an_association(tmp_path) -> None:
    """The GPU-node option, run small on the CPU: after a few epochs the encoder ranks each job's
    positive (an arbitrary association the base model cannot know) above the others."""
    from cerebro_serve.engine import load_encoder
    from cerebro_serve.engine.models import resolve_model_dir
    from cerebro_serve.training.encoder_finetune import Example, finetune_encoder, retrieval_mrr

    pairs = [
        ("mango", "cobalt"),
        ("lemon", "crimson"),
        ("plum", "amber"),
        ("pear", "teal"),
        ("kiwi", "ivory"),
        ("fig", "scarlet"),
        ("lime", "indigo"),
        ("peach", "olive"),
    ]
    examples = [Example(f"Wanted: {fruit} grower", f"Ten years of {colour} dyeing") for fruit, colour in pairs]
    _, model_dir = resolve_model_dir("all-MiniLM-L6-v2")
    before = retrieval_mrr(load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch").embed_documents, examples)
    out = finetune_encoder(
        model_dir, examples, tmp_path / "tuned", device="cpu", epochs=8, batch_size=8, learning_rate=1e-4
    )
    tuned = load_encoder(str(out), "cpu", "float32", "torch")
    assert tuned.name == "tuned" and tuned.dimension == 384
    assert retrieval_mrr(tuned.embed_documents, examples) > before + 0.2


def test_encoder_fine_tuning_through_the_workspace(client, workspace, workspace_pools, tmp_path) -> None:
    from cerebro_serve.engine.models import resolve_model_dir

    source, board = workspace_pools
    key = _fork(client)
    for reference, job, local in _local_hiring(client, source, board):
        client.post("/v1/rating", json=_rating(source, board, reference, job, 0.9 if local else 0.1))
    _, model_dir = resolve_model_dir("all-MiniLM-L6-v2")
    report = workspace.training.finetune_encoder(key, "rating", model_dir, tmp_path / "tuned", "cpu")
    assert report["train_examples"] == 18 and report["validation_examples"] == 6
    assert 0 < report["validation_mrr_before"] <= 1 and 0 < report["validation_mrr_after"] <= 1
    assert (tmp_path / "tuned" / "modules.json").exists()
    assert [step["step"] for step in report["workflow"]][:3] == ["select feedback", "label pairs", "privacy consent"]
    from cerebro_serve import cli  # the operator's way in, on the same store

    settings = cli.Settings.from_env(data_dir=tmp_path / "cli", database_url=workspace.store.url, device="cpu")
    assert cli.finetune_encoder(settings, key, "rating", tmp_path / "from-cli", epochs=1) == 0
    assert (tmp_path / "from-cli" / "modules.json").exists()


def test_a_version_that_favours_one_city_is_held_for_review_until_an_admin_releases_it(
    client, workspace, workspace_pools, admin_key
) -> None:
    """The local-hiring feedback teaches a version to rank Lyon candidates below Paris ones: with the
    candidates' location among their protected attributes, the release gate holds it; rollback cannot
    serve it; an admin can, with a reason that the version's review and the audit trail keep."""
    source, board = workspace_pools
    key = _fork(client)
    hiring = _local_hiring(client, source, board)
    for reference, job, local in hiring:
        assert (
            client.post("/v1/rating", json=_rating(source, board, reference, job, 0.9 if local else 0.1)).status_code
            == 201
        )
    attributes = [
        {"profile_reference": reference, "location": "Paris" if local else "Lyon"} for reference, _, local in hiring
    ]
    loaded = client.post("/v1/fairness/attributes", json={"source_key": source, "attributes": attributes})
    assert loaded.status_code in (200, 201), loaded.text

    started = client.post("/v1/algorithm/training", json={"algorithm_key": key, "mode": "rating"})
    training = _wait(client, started.json()["data"]["training_key"])
    assert training["status"] == "held_for_review", training
    review = training["review"]
    assert review["state"] == "held_for_review" and review["impact_ratios"]["location"] < 0.8
    assert any(reason.startswith("location: impact ratio") for reason in review["reasons"])

    algorithm = client.get("/v1/algorithm", params={"algorithm_key": key}).json()["data"]
    assert algorithm["active_version"] == 1
    assert [v["status"] for v in algorithm["versions"]] == ["active", "held_for_review"]
    refused = client.post("/v1/algorithm/rollback", json={"algorithm_key": key, "version": 2})
    assert refused.status_code == 409 and "held for review" in refused.json()["message"]

    reason = "Reviewed with the works council: the Lyon office closed, local hiring is intended."
    release = {"algorithm_key": key, "version": 2, "reason": reason}
    writer = {"X-API-KEY": workspace.keys.create("write")}  # a write key may not override the gate
    assert client.post("/v1/algorithm/release", json=release, headers=writer).status_code == 403
    assert client.post("/v1/algorithm/release", json={**release, "reason": "ok"}).status_code == 400
    released = client.post("/v1/algorithm/release", json=release)
    assert released.status_code == 200, released.text
    data = released.json()["data"]
    assert data["active_version"] == 2
    version_review = data["versions"][1]["review"]
    assert version_review["state"] == "released_by_admin" and version_review["release_reason"] == reason
    assert version_review["released_by"] == workspace.audit.key_id(admin_key)
    assert (
        client.get("/v1/algorithm/training", params={"training_key": training["training_key"]}).json()["data"]["status"]
        == "succeeded"
    )
    again = client.post("/v1/algorithm/release", json=release)
    assert again.status_code == 409

    events = client.get("/v1/audit", params={"route": "/v1/algorithm/release"}).json()["data"]
    logged = [e for e in events if e["status"] == 200]
    assert len(logged) == 1 and logged[0]["parameters"]["reason"] == reason
