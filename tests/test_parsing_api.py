"""Parsing over HTTP: the SDK's add_file stores a structured profile; bad files get a 4xx and store nothing."""

from __future__ import annotations

import io
import time
import zipfile

import msgspec
import pytest
from helpers import ENGLISH_RESUME, FRENCH_RESUME, SETTINGS, make_docx, make_pdf, stop_workspace
from hrflow import Hrflow

from cerebro_serve.cli import gate_policy
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.parsing.ocr import tesseract
from cerebro_serve.services import Workspace
from cerebro_serve.services.parsing import ProfileFileRequest
from cerebro_serve.services.queries import PoolCreate, RecordLookup


@pytest.fixture
def source(workspace: Workspace) -> str:
    return workspace.pools.create(PROFILE, PoolCreate(name="Applicants")).key


def stored(workspace: Workspace, source: str) -> int:
    return workspace.store.pools.get_pool("source", source, with_size=True).size


def test_sdk_add_file_parses_a_pdf_into_a_stored_profile(
    live_server: str, admin_key: str, source: str, workspace: Workspace
) -> None:
    sdk = Hrflow(api_url=live_server, api_secret=admin_key)
    pdf = make_pdf([ENGLISH_RESUME.split("\n")])
    response = sdk.profile.parsing.add_file(
        source_key=source,
        profile_file=pdf,
        profile_file_name="jane.pdf",
        reference="jane",
        tags=[{"name": "channel", "value": "careers-page"}],
        sync_parsing=1,
    )
    assert response["code"] == 201, response
    profile = response["data"]["profile"]
    assert profile["reference"] == "jane" and profile["source_key"] == source
    assert profile["info"]["email"] == "jane.roe@example.com"
    assert profile["experiences"][0]["company"] == "Northwind Software"
    assert {"Python", "Django"} <= {s["name"] for s in profile["skills"]}
    assert profile["attachments"][0]["file_name"] == "jane.pdf"
    assert profile["tags"] == [{"name": "channel", "value": "careers-page"}]
    fetched = sdk.profile.parsing.get(source_key=source, reference="jane")
    assert fetched["data"]["profile"]["key"] == profile["key"]
    # Parsed profiles are scored like any other.
    board = workspace.pools.create(JOB, PoolCreate(name="Roles")).key
    job = sdk.job.storing.add_json(board, {"name": "Python backend engineer", "summary": "Django, PostgreSQL"})
    scored = sdk.profile.scoring.list(source_keys=[source], board_key=board, job_key=job["data"]["key"])
    assert scored["meta"]["total"] == 1


def test_docx_in_french_is_parsed(client, source: str) -> None:
    data = make_docx(FRENCH_RESUME.split("\n"))
    response = client.post(
        "/v1/profile/parsing/file", data={"source_key": source, "sync_parsing": "1"}, files={"file": ("cv.docx", data)}
    )
    assert response.status_code == 201, response.text
    profile = response.json()["data"]["profile"]
    assert profile["text_language"] == "fr"
    assert profile["experiences"][0]["date_start"] == "2019-01-01T00:00:00"
    assert profile["experiences"][0]["date_end"] is None


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/bomb.bin", b"\0" * (80 * 1024 * 1024))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "status", "reason"),
    [
        ("cv.pdf", make_pdf([[ENGLISH_RESUME[:80]]], encrypt=True), 400, "encrypted"),
        ("cv.pdf", make_pdf([ENGLISH_RESUME.split("\n")])[:500], 400, "corrupt"),
        ("cv.pdf", b"", 400, "empty"),
        ("cv.docx", _zip_bomb(), 400, "zip_bomb"),
        ("cv.docx", make_pdf([ENGLISH_RESUME.split("\n")]), 415, "wrong_content_type"),
        # A broken image: refused for want of OCR, or as undecodable where Tesseract is installed.
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, *((400, "corrupt") if tesseract() else (415, "needs_ocr"))),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    client, workspace: Workspace, source: str, filename: str, data: bytes, status: int, reason: str
) -> None:
    response = client.post(
        "/v1/profile/parsing/file", data={"source_key": source, "sync_parsing": "1"}, files={"file": (filename, data)}
    )
    assert response.status_code == status and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == status and f"reason: {reason}" in body["message"]
    assert stored(workspace, source) == 0


def test_missing_file_and_unknown_source_are_refused(client, source: str) -> None:
    response = client.post("/v1/profile/parsing/file", data={"source_key": source}, files={"other": ("x", b"x")})
    assert response.status_code == 400 and "`file`" in response.json()["message"]
    response = client.post(
        "/v1/profile/parsing/file", data={"source_key": "0" * 40}, files={"file": ("cv.txt", ENGLISH_RESUME.encode())}
    )
    assert response.status_code == 400 and "Unable to find object: source" in response.json()["message"]
    response = client.post(
        "/v1/profile/parsing/file",
        data={"source_key": "0" * 40, "sync_parsing": "1"},
        files={"file": ("cv.txt", ENGLISH_RESUME.encode())},
    )
    assert response.status_code == 400 and "Unable to find object: source" in response.json()["message"]
    response = client.post("/v1/profile/parsing/file", json={"source_key": source})
    assert response.status_code == 400 and "multipart" in response.json()["message"]


def test_job_text_is_parsed_and_optionally_indexed(client, workspace: Workspace) -> None:
    board = workspace.pools.create(JOB, PoolCreate(name="Roles")).key
    text = "Data Engineer\nRequirements\n- Python and SQL\n- Spark\nNice to have\n- Kubernetes\n"
    preview = client.post("/v1/job/parsing", json={"text": text})
    assert preview.status_code == 200
    assert preview.json()["data"]["job"]["name"] == "Data Engineer"
    indexed = client.post("/v1/job/parsing", json={"text": text, "board_key": board, "reference": "de-1"})
    assert indexed.status_code == 201
    job = indexed.json()["data"]["job"]
    assert job["board_key"] == board and job["reference"] == "de-1" and len(job["key"]) == 40
    assert {s["name"]: s["value"] for s in job["skills"]}["Kubernetes"] == "nice_to_have"


def _poll(client, source: str, key: str, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/v1/profile/parsing", params={"source_key": source, "key": key})
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_async_parsing_answers_202_then_the_profile(client, source: str) -> None:
    pdf = make_pdf([ENGLISH_RESUME.split("\n")])
    accepted = client.post(
        "/v1/profile/parsing/file", data={"source_key": source, "reference": "later"}, files={"file": ("cv.pdf", pdf)}
    )
    assert accepted.status_code == 202, accepted.text
    key = accepted.json()["data"]["key"]
    assert len(key) == 40
    done = _poll(client, source, key)
    assert done.status_code == 200, done.text
    profile = done.json()["data"]["profile"]
    assert profile["key"] == key and profile["reference"] == "later"
    assert profile["info"]["email"] == "jane.roe@example.com"


def test_async_parsing_refuses_what_needs_no_parsing_at_once(client, workspace: Workspace, source: str) -> None:
    response = client.post(
        "/v1/profile/parsing/file",
        data={"source_key": source},
        files={"file": ("cv.docx", make_pdf([ENGLISH_RESUME.split("\n")]))},
    )
    assert response.status_code == 415 and "reason: wrong_content_type" in response.json()["message"]
    assert workspace.store.parsing_jobs.queued_parsing(10) == []


def test_async_parsing_failure_is_reported_when_polled(client, workspace: Workspace, source: str) -> None:
    accepted = client.post(
        "/v1/profile/parsing/file",
        data={"source_key": source, "reference": "bad"},
        files={"file": ("cv.pdf", make_pdf([["x"]], encrypt=True))},
    )
    assert accepted.status_code == 202
    failed = _poll(client, source, accepted.json()["data"]["key"])
    assert failed.status_code == 400 and "reason: encrypted" in failed.json()["message"]
    assert stored(workspace, source) == 0
    by_reference = client.get("/v1/profile/parsing", params={"source_key": source, "reference": "bad"})
    assert by_reference.status_code == 400 and "Parsing failed" in by_reference.json()["message"]


def test_queued_files_survive_a_restart(workspace: Workspace, encoder, tmp_path, admin_key: str, source: str) -> None:
    request = ProfileFileRequest(
        source_key=source,
        data=make_pdf([ENGLISH_RESUME.split("\n")]),
        filename="cv.pdf",
        key="c" * 40,
        reference="queued-before-crash",
    )
    # Accepted by a server that died before parsing it: only the store knows.
    workspace.store.parsing_jobs.enqueue_parsing(
        "c" * 40, source, "queued-before-crash", msgspec.msgpack.encode(request)
    )
    restarted = Workspace(
        workspace.store,
        encoder,
        tmp_path / "restarted",
        admin_key,
        workspace.sandbox,
        embed_max_chars=workspace.records.embed_max_chars,
        audit_retention_days=SETTINGS.audit_retention_days,
        release_gate=gate_policy(SETTINGS),
    )
    try:
        deadline = time.monotonic() + 60
        while (
            workspace.store.parsing_jobs.find_parsing(source, key="c" * 40).status in ("queued", "running")
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        profile = restarted.records.get(PROFILE, source, RecordLookup(key="c" * 40))
        assert profile.reference == "queued-before-crash"
        assert (
            workspace.store.parsing_jobs.find_parsing(source, key="c" * 40).request is None
        )  # the file is dropped once parsed
    finally:
        stop_workspace(restarted)  # every thread of it, its fairness poller too, before the schema goes
        restarted.sandbox.close()
