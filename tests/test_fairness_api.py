"""Fairness: protected attributes stored apart (single, JSONL bulk, refusals, admin-only reading), audits run
as queued jobs to a report that flags a biased setup, cancellation and restart, the HTML report, and the
attributes never changing what a model reads or says."""

from __future__ import annotations

import json
import time
from html.parser import HTMLParser

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import CHEF_RESUME, NURSE_RESUME, PYTHON_JOB, PYTHON_RESUME, profile

from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.services.fairness import NO_ATTRIBUTES, NO_CONSENT
from cerebro_serve.services.fairness_worker import AuditWorker
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import StoredTraining

# Six profiles a gender: "f" are mostly Python engineers, "m" mostly nurses and chefs. A Python job then
# scores "f" far above "m": the skill the job asks for stands in for the attribute.
PEOPLE = [(f"f{n}", "f", PYTHON_RESUME if n < 5 else NURSE_RESUME) for n in range(6)] + [
    (f"m{n}", "m", PYTHON_RESUME if n < 1 else (NURSE_RESUME, CHEF_RESUME)[n % 2]) for n in range(6)
]


def _index(client, source: str, reference: str, text: str, **fields) -> dict:
    answer = client.post(
        "/v1/profile/indexing", json={"source_key": source, "reference": reference, **profile(text, **fields)}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


@pytest.fixture
def biased(client, pools) -> tuple[str, str]:
    source, board = pools
    for reference, _, text in PEOPLE:
        _index(client, source, reference, text)
    _index(client, source, "no-attributes", PYTHON_RESUME)
    _index(client, source, "private", PYTHON_RESUME, consent_algorithmic={"owner": {"learning": False}})
    for number in range(2):
        job = {**PYTHON_JOB, "board_key": board, "reference": f"python-{number}"}
        assert client.post("/v1/job/indexing", json=job).status_code == 201
    attributes = [
        {"profile_reference": reference, "gender": gender, "ethnicity": "a" if n % 2 else "b", "age_band": "25-34"}
        for n, (reference, gender, _) in enumerate(PEOPLE)
    ]
    attributes.append({"profile_reference": "private", "gender": "f"})
    answer = client.post("/v1/fairness/attributes", json={"source_key": source, "attributes": attributes})
    assert answer.status_code == 200 and answer.json()["data"] == {"stored": 13}, answer.text
    return source, board


@pytest.fixture
def small(client, pools) -> tuple[str, str]:
    """Two profiles with attributes and a job: enough for an audit to run."""
    source, board = pools
    for reference, gender, text in (("ada", "f", PYTHON_RESUME), ("bob", "m", NURSE_RESUME)):
        _index(client, source, reference, text)
        attributes = [{"profile_reference": reference, "gender": gender}]
        client.post("/v1/fairness/attributes", json={"source_key": source, "attributes": attributes})
    assert client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).status_code == 201
    return source, board


def _wait(client, audit_key: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        audit = client.get("/v1/algorithm/audit", params={"audit_key": audit_key}).json()["data"]
        if audit["status"] in ("succeeded", "failed", "cancelled"):
            return audit
        time.sleep(0.1)
    raise AssertionError(f"audit {audit_key} did not finish")


def _audit(client, source: str, board: str, **extra) -> dict:
    body = {"algorithm_key": "cerebro-base", "source_keys": [source], "board_keys": [board], "top_k": 3, **extra}
    answer = client.post("/v1/algorithm/audit", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["status"] == "queued"
    return answer.json()["data"]


def test_attributes_are_set_read_by_admins_only_and_replaced(client, workspace, pools) -> None:
    source, _ = pools
    stored = _index(client, source, "ada", PYTHON_RESUME)
    body = {
        "source_key": source,
        "attributes": [{"profile_key": stored["key"], "gender": " female ", "age_band": "65+"}],
    }
    assert client.post("/v1/fairness/attributes", json=body).json()["data"] == {"stored": 1}
    query = {"source_key": source, "profile_reference": "ada"}
    read = client.get("/v1/fairness/attributes", params=query).json()["data"]
    assert (read["gender"], read["age_band"], read["ethnicity"], read["profile_key"]) == (
        "female",
        "65+",
        None,
        stored["key"],
    )

    body["attributes"] = [{"profile_reference": "ada", "ethnicity": "Hispanic or Latino"}]
    client.post("/v1/fairness/attributes", json=body)
    read = client.get("/v1/fairness/attributes", params=query).json()["data"]
    assert (read["gender"], read["ethnicity"]) == (None, "Hispanic or Latino")  # replaced, not merged

    for key_type in ("read", "write"):
        refused = client.get(
            "/v1/fairness/attributes", params=query, headers={"X-API-KEY": workspace.keys.create(key_type)}
        )
        assert refused.status_code == 403

    # They go with the profile's record (ON DELETE CASCADE), whatever deletes it.
    with workspace.store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM records WHERE id = :id"), {"id": stored["id"]})
    assert workspace.fairness.attributes.attributes_of([stored["id"]]) == {}


def test_attribute_refusals(client, pools) -> None:
    source, _ = pools
    _index(client, source, "ada", PYTHON_RESUME)

    def post(*attributes: dict, source_key: str = source):
        return client.post("/v1/fairness/attributes", json={"source_key": source_key, "attributes": list(attributes)})

    unknown = post({"profile_reference": "ada", "gender": "f"}, {"profile_reference": "nobody", "gender": "m"})
    assert (
        unknown.status_code == 404
        and "attributes[1]" in unknown.json()["message"]
        and "nobody" in unknown.json()["message"]
    )
    assert (
        client.get("/v1/fairness/attributes", params={"source_key": source, "profile_reference": "ada"}).status_code
        == 404
    )
    assert post({"profile_reference": "ada", "age_band": "30-40"}).status_code == 400
    assert post({"profile_reference": "ada", "gender": "x" * 65}).status_code == 400
    assert post({"profile_reference": "ada", "religion": "none"}).status_code == 400
    assert post({"gender": "f"}).status_code == 400
    assert post().status_code == 400
    assert post({"profile_reference": "ada"}, source_key="no-such-source").status_code == 400


def test_attributes_import_as_json_lines(client, pools) -> None:
    source, _ = pools
    for reference in ("ada", "bob"):
        _index(client, source, reference, PYTHON_RESUME)
    lines = [
        {"source_key": source, "profile_reference": "ada", "gender": "f", "age_band": "18-24"},
        {"source_key": source, "profile_reference": "nobody", "gender": "m"},
        "not json",
        {"source_key": source, "profile_reference": "bob", "age_band": "old"},
        {"source_key": source, "profile_reference": "bob", "location": "Paris"},
        {"source_key": source, "profile_reference": "bob", "location": "Lyon"},  # the last line wins
    ]
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n\n"
    answer = client.post(
        "/v1/fairness/attributes/import", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["stored"] == 3 and [rejected["line"] for rejected in data["rejected"]] == [2, 3, 4]
    assert "nobody" in data["rejected"][0]["message"] and "age_band" in data["rejected"][2]["message"]
    bob = client.get("/v1/fairness/attributes", params={"source_key": source, "profile_reference": "bob"}).json()
    assert bob["data"]["location"] == "Lyon"
    empty = client.post(
        "/v1/fairness/attributes/import", content="\n", headers={"Content-Type": "application/x-ndjson"}
    )
    assert empty.status_code == 400


class _Page(HTMLParser):
    """Checks nesting and collects what an auditor's page must (and must not) contain."""

    VOID = {"meta", "br", "img", "rect", "line", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def test_an_audit_flags_a_ranking_that_favours_one_group_in_json_and_html(client, biased) -> None:
    source, board = biased
    audit = _wait(client, _audit(client, source, board)["audit_key"])
    assert audit["status"] == "succeeded", audit
    assert audit["progress"] == 1.0 and audit["version"] == 1
    report = audit["report"]
    audit_set = report["audit_set"]
    served = []  # the scores profiles/scoring gives the audited profiles: the audit's are the same
    audited = {reference for reference, _, _ in PEOPLE}
    for job in ("python-0", "python-1"):
        query = {"source_keys": json.dumps([source]), "board_key": board, "job_reference": job, "sort_by": "scoring"}
        ranked = client.get("/v1/profiles/scoring", params=query).json()["data"]
        served += [p[1] for item, p in zip(ranked["profiles"], ranked["predictions"]) if item["reference"] in audited]
    assert len(served) == 24
    assert audit_set["model"]["median_score"] == pytest.approx(float(np.median(served)), abs=1e-6)
    assert audit_set["jobs"] == 2 and audit_set["coverage"]["profiles"] == 12 and audit_set["coverage"]["pairs"] == 24
    assert audit_set["coverage"]["left_out"] == {NO_ATTRIBUTES: 1, NO_CONSENT: 1}
    assert audit_set["coverage"]["date_range"]["start"] is not None

    model = audit_set["model"]
    assert model["min_impact_ratio"]["gender"] < 0.8
    gender = next(table for table in model["tables"] if table["attribute"] == "gender")
    assert gender["reference"] == "f" and gender["flagged"] == ["m"]
    men = next(group for group in gender["groups"] if group["group"] == "m")
    assert men["four_fifths_flag"] and men["p_value"] < 0.05 and men["n"] == 12
    assert gender["demographic_parity_difference"] > 0.5
    assert {table["attribute"] for table in model["tables"]} == {
        "gender",
        "ethnicity",
        "age_band",
        "location",
        "gender×ethnicity",
    }
    location = next(table for table in model["tables"] if table["attribute"] == "location")
    assert [group["group"] for group in location["groups"]] == ["unknown"]  # reported, not dropped
    assert "location" not in model["min_impact_ratio"] and "age_band" not in model["min_impact_ratio"]

    exposure = next(item for item in audit_set["exposure"] if item["attribute"] == "gender")
    women = next(group for group in exposure["groups"] if group["group"] == "f")
    assert women["top_k_share"] == 1.0 and women["pool_share"] == 0.5 and women["ratio"] == 2.0
    assert len(exposure["lists"]) == 2 and exposure["k"] == 3
    assert report["validation"]["skipped"]  # cerebro-base was never trained: no validation data
    assert "impact_ratio" in report["method"]
    probes = report["bias_probes"]
    # The probes need no attributes: every profile open to audits is probed (all but "private").
    assert probes["stereotype"]["profiles"] == 13 and probes["overload"]["jobs"] == 2, probes

    # The same report as a page for an auditor: well-formed, nothing fetched, accessible.
    answer = client.get("/v1/algorithm/audit", params={"audit_key": audit["audit_key"], "format": "html"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(answer.text)
    page.close()
    assert page.errors == [] and page.open == []
    names = [tag for tag, _ in page.tags]
    assert "script" not in names and "link" not in names and "img" not in names and "iframe" not in names
    for _, attrs in page.tags:  # nothing fetched: no source or link leaves the page
        assert not any(name in ("src", "href") for name in attrs)
    assert names.count("table") == names.count("caption") > 3
    assert all(attrs.get("scope") in ("col", "row") for tag, attrs in page.tags if tag == "th")
    charts = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert charts and all(attrs["role"] == "img" and "0.8" in (attrs["aria-label"] or "") for attrs in charts)
    assert "<h1>Fairness audit of cerebro-base, version 1</h1>" in answer.text
    for said in ("four-fifths", "Fisher", "ranking 12 profile(s)", "Stereotype bias", "Gini"):
        assert said in answer.text


def test_a_queued_audit_is_cancelled_and_a_running_one_stops(client, workspace, small) -> None:
    source, board = small
    fairness = workspace.fairness
    fairness.worker.stop()  # audits stay queued until a worker of the test's own runs them
    worker = AuditWorker(fairness.attributes, fairness.worker.runner)
    key = _audit(client, source, board)["audit_key"]
    html = client.get("/v1/algorithm/audit", params={"audit_key": key, "format": "html"})
    assert html.status_code == 409
    cancelled = client.post("/v1/algorithm/audit/cancel", json={"audit_key": key})
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled"
    assert client.post("/v1/algorithm/audit/cancel", json={"audit_key": key}).status_code == 409

    key = _audit(client, source, board)["audit_key"]
    scores = fairness._scores

    def cancel_midway(*args):
        assert client.post("/v1/algorithm/audit/cancel", json={"audit_key": key}).status_code == 200
        return scores(*args)

    fairness._scores = cancel_midway  # a cancellation arrives while the first job is ranked
    worker.run_pending()
    audit = client.get("/v1/algorithm/audit", params={"audit_key": key}).json()["data"]
    assert audit["status"] == "cancelled" and audit["report"] is None


def test_an_audit_left_running_by_a_stop_is_queued_again(client, workspace, small) -> None:
    source, board = small
    fairness = workspace.fairness
    fairness.worker.stop()
    key = _audit(client, source, board)["audit_key"]
    assert fairness.attributes.update_audit(key, "queued", status="running", progress=0.4)
    restarted = AuditWorker(fairness.attributes, fairness.worker.runner)
    restarted.start()  # a restart queues it again, and its thread runs it
    assert _wait(client, key)["status"] == "succeeded"
    restarted.stop()
    assert client.get("/v1/algorithm/audit", params={"audit_key": key}).json()["data"]["status"] == "succeeded"


def test_audit_refusals(client, pools) -> None:
    source, board = pools

    def start(**body):
        return client.post("/v1/algorithm/audit", json={"source_keys": [source], "board_keys": [board], **body})

    assert start(algorithm_key="cerebro-base", version=2).status_code == 400
    assert start(algorithm_key="no-such-algorithm").status_code == 400
    assert start(algorithm_key="cerebro-base", board_keys=[]).status_code == 400
    assert start(algorithm_key="cerebro-base", source_keys=[board]).status_code == 400  # a board is no source
    assert client.get("/v1/algorithm/audit", params={"audit_key": "nope"}).status_code == 404
    assert client.post("/v1/algorithm/audit/cancel", json={"audit_key": "nope"}).status_code == 404


def test_attributes_change_no_feature_embedding_score_or_explanation(client, workspace, pools) -> None:
    """Everything a model reads or says about a profile, before and after its attributes are set (and
    after it is described again with them set): byte for byte the same."""
    source, board = pools
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board, "reference": "job"}).json()["data"]
    body = {"source_key": source, "reference": "ada", **profile(PYTHON_RESUME)}
    ada = _index(client, source, "ada", PYTHON_RESUME)
    _index(client, source, "bob", NURSE_RESUME)
    scoring = {"source_keys": json.dumps([source]), "board_key": board, "job_key": job["key"], "sort_by": "scoring"}
    grading = {"source_key": source, "board_key": board, "profile_key": ada["key"], "job_key": job["key"]}

    def everything() -> tuple:
        ranked = client.get("/v1/profiles/scoring", params={**scoring, "explain": "true"}).json()["data"]
        graded = client.get("/v1/profile/grading", params=grading).json()["data"]
        upskilled = client.get("/v1/profile/upskilling", params=grading).json()["data"]
        order = [item["key"] for item in ranked["profiles"]]
        said = (order, ranked["predictions"], ranked["explanations"], graded, upskilled)
        return workspace.store.records.record_vectors(ada["id"]), said

    before = everything()
    attributes = {
        "profile_key": ada["key"],
        "gender": "female",
        "ethnicity": "Black",
        "age_band": "55-64",
        "location": "Paris",
    }
    client.post("/v1/fairness/attributes", json={"source_key": source, "attributes": [attributes]})
    assert everything() == before
    edited = client.put("/v1/profile/indexing", json={**body, "key": ada["key"]})  # described again
    assert edited.status_code == 200, edited.text
    assert everything() == before


def test_a_trained_version_is_audited_on_its_validation_data(client, workspace, biased) -> None:
    """The labels the training learnt from favour one group (data fairness flags it), while the version's
    above-median decision is as accurate for both groups on the validation pairs (equalized odds 0)."""
    source, board = biased
    lines = [
        {"source_key": source, "board_key": board, "profile_reference": reference, "job_reference": job}
        | {"role": "recruiter", "score": 0.9 if text == PYTHON_RESUME else 0.1}
        for reference, _, text in [*PEOPLE, ("private", "f", PYTHON_RESUME)]
        for job in ("python-0", "python-1")
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    imported = client.post("/v1/ratings/import", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert imported.json()["data"]["stored"] == 26, imported.text
    fork = {"base": "cerebro-trainable", "name": "Audited", "labeller_role": "recruiter"}
    key = client.post("/v1/algorithm", json=fork).json()["data"]["key"]
    learning, now = workspace.store.learning, now_us()
    training = StoredTraining(
        key="t" * 40,
        algorithm_key=key,
        status="running",
        request=json.dumps({"algorithm_key": key, "mode": "rating"}),
        progress=0.5,
        log=None,
        version=None,
        error=None,
        cancel_requested=False,
        feedback_watermark=0,
        trigger="api",
        created_at_us=now,
        updated_at_us=now,
    )
    learning.add_training(training)
    assert learning.publish_version(training.key, key, now, base_algorithm().to_json(), "{}", "[]") == 2

    audit = _wait(client, _audit(client, source, board, algorithm_key=key, bias_probes=False)["audit_key"])
    assert audit["status"] == "succeeded" and audit["version"] == 2, audit
    validation = audit["report"]["validation"]
    assert validation["training_key"] == training.key
    assert validation["coverage"]["pairs"] == 24 and validation["coverage"]["left_out"] == {NO_CONSENT: 1}
    assert validation["coverage"]["date_range"]["start"] is not None
    assert validation["data"]["min_impact_ratio"]["gender"] == pytest.approx((2 / 12) / (10 / 12))
    model = validation["model"]
    gender = next(table for table in model["tables"] if table["attribute"] == "gender")
    assert gender["equalized_odds_difference"] == 0.0
    assert all(group["true_positive_rate"] == 1.0 for group in gender["groups"])
    assert "bias_probes" not in audit["report"]
