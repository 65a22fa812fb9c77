"""bench/locustfile.py against a live server over a tiny workspace (no ../shared data): every task sends a
request the API accepts, and a short headless Locust run (its CLI, one process) gets only 2xx answers.

Locust runs in subprocesses: importing it patches the standard library with gevent."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import serve
from helpers import (
    ACCOUNTANT_RESUME,
    CHEF_RESUME,
    ENGLISH_RESUME,
    LYON,
    NURSE_RESUME,
    PARIS,
    PARIS_PYTHON_JOB,
    PYTHON_JOB,
    PYTHON_RESUME,
    SETTINGS,
    make_workspace,
    stop_workspace,
)

from cerebro_serve.services.keys import KeyRing, new_key
from cerebro_serve.store import SqlStore

ROOT = Path(__file__).resolve().parents[1]

# Each task of the locustfile, called once (with the random draws that pick each variant of a request).
EVERY_TASK = """
import json, sys
import locust
from locust.env import Environment
from bench import locustfile

env = Environment(user_classes=[locustfile.Recruiter, locustfile.Candidate], host=sys.argv[1], events=locust.events)
seen = []
env.events.request.add_listener(
    lambda name, response=None, exception=None, **_: seen.append(
        [name, getattr(response, "status_code", 0), None if exception is None else str(exception)[:300]]
    )
)
locustfile.Recruiter.host = locustfile.Candidate.host = sys.argv[1]
recruiter, candidate = locustfile.Recruiter(env), locustfile.Candidate(env)
recruiter.on_start()
candidate.on_start()
for draw in (0.1, 0.4, 0.5, 0.9):  # a city tag (page of 30), a radius, a date, no filter
    recruiter.rng.random = lambda draw=draw: draw
    recruiter.score_profiles()
    recruiter.next_page()
for draw in (0.1, 0.5, 0.9):  # keywords by date, keywords by relevance, tags and dates
    recruiter.rng.random = lambda draw=draw: draw
    recruiter.search_profiles()
recruiter.rate()
recruiter.track()
recruiter.index_profile()
recruiter.parse_resume()
for draw in (0.1, 0.9):
    candidate.rng.random = lambda draw=draw: draw
    candidate.score_jobs()
    candidate.next_page()
candidate.track()
candidate.search_jobs()
print(json.dumps(seen))
"""


def _locust_env(manifest: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CEREBRO_LOAD_MANIFEST": str(manifest), **extra}


def _seed(base_url: str, admin_key: str, store: SqlStore, directory: Path) -> Path:
    """A source of four profiles and a board of three jobs (two cities), read and write keys, and the
    manifest bench/seed_load.py would write for them."""
    city = {"tag": "city-0", **PARIS}
    with httpx.Client(base_url=f"{base_url}/v1/", headers={"X-API-KEY": admin_key}, timeout=120) as client:
        source = client.post("source", json={"name": "Load"}).json()["data"]["key"]
        board = client.post("board", json={"name": "Load jobs"}).json()["data"]["key"]
        profile_keys = []
        resumes = (PYTHON_RESUME, NURSE_RESUME, CHEF_RESUME, ACCOUNTANT_RESUME)
        for number, text in enumerate(resumes):
            place = PARIS if number % 2 == 0 else LYON
            body = {
                "source_key": source,
                "reference": f"load-{number}",
                "text": text,
                "info": {"full_name": f"Person {number}", "location": {"text": "somewhere", **place}},
                "tags": [{"name": "city", "value": "city-0" if place is PARIS else "city-1"}],
            }
            response = client.post("profile/indexing", json=body)
            assert response.status_code == 201, response.text
            profile_keys.append(response.json()["data"]["key"])
        job_keys = []
        for number, job in enumerate((PYTHON_JOB, PARIS_PYTHON_JOB, {"name": "Night nurse", "summary": NURSE_RESUME})):
            tags = [{"name": "city", "value": "city-0"}]
            body = {**job, "board_key": board, "reference": f"job-{number}", "tags": tags}
            response = client.post("job/indexing", json=body)
            assert response.status_code == 201, response.text
            job_keys.append(response.json()["data"]["key"])
    keys = KeyRing(store, admin_key)
    (directory / "index_profiles.json").write_text(
        json.dumps([{"text": PYTHON_RESUME, "info": {"full_name": "New Person"}}, {"text": NURSE_RESUME}])
    )
    (directory / "resume.txt").write_text(ENGLISH_RESUME)
    manifest = {
        "profiles": len(profile_keys),
        "jobs": len(job_keys),
        "admin_key": admin_key,
        "read_key": keys.create("read"),
        "write_key": keys.create("write"),
        "source_key": source,
        "board_key": board,
        "job_keys": job_keys,
        "profile_keys": profile_keys,
        "cities": [city],
        "created_at_range": ["2024-01-01T00:00:00+00:00", "2026-11-30T00:00:00+00:00"],
        "keywords": ["python", "nurse"],
        "index_profiles": "index_profiles.json",
        "resume_file": "resume.txt",
    }
    path = directory / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


@pytest.fixture(scope="module")
def load_site(batcher, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("load")
    store = SqlStore(f"sqlite:///{directory / 'cerebro.db'}")
    admin_key = new_key("all")
    workspace = make_workspace(store, batcher, directory / "indexes", admin_key)
    for base_url in serve(workspace, SETTINGS.max_body_bytes, pages=False):
        yield base_url, _seed(base_url, admin_key, store, directory)
    stop_workspace(workspace)
    store.close()


def test_every_task_sends_a_request_the_api_accepts(load_site: tuple[str, Path]) -> None:
    base_url, manifest = load_site
    done = subprocess.run(
        [sys.executable, "-c", EVERY_TASK, base_url],
        env=_locust_env(manifest),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen: list[list[Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    refused = [entry for entry in seen if not 200 <= entry[1] < 300 or entry[2] is not None]
    assert refused == [], refused
    assert {name for name, _, _ in seen} == {
        "/v1/profiles/scoring",
        "/v1/profiles/scoring (next page)",
        "/v1/profiles/searching (keywords by date)",
        "/v1/profiles/searching (keywords by relevance)",
        "/v1/profiles/searching (tags and dates)",
        "/v1/rating",
        "/v1/tracking",
        "/v1/profile/indexing",
        "/v1/profile/parsing/file",
        "/v1/jobs/scoring",
        "/v1/jobs/scoring (next page)",
        "/v1/jobs/searching (keywords by date)",
    }


def test_a_short_headless_run_gets_only_2xx(load_site: tuple[str, Path], tmp_path: Path) -> None:
    base_url, manifest = load_site
    samples = tmp_path / "samples.csv"
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
    command += ["--host", base_url, "--users", "6", "--spawn-rate", "6", "--run-time", "6s", "--stop-timeout", "10"]
    command += ["--csv", str(tmp_path / "load"), "--html", str(tmp_path / "load.html"), "--only-summary"]
    env = _locust_env(manifest, CEREBRO_LOAD_RATE="3", CEREBRO_LOAD_SAMPLES=str(samples))
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(samples, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 30, rows  # 6 users at 3 requests/s for 6 s, ~108 offered
    assert [row for row in rows if row["ok"] != "1"] == []
    assert any(row["name"] == "/v1/profiles/scoring" and row["status"] == "200" for row in rows)
    with open(tmp_path / "load_stats.csv", newline="") as handle:
        aggregated = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    # Locust writes its CSV as users stop: requests still in flight then (how many depends on how busy the
    # machine is) are only in the samples.
    assert aggregated[0]["Failure Count"] == "0" and 0 < int(aggregated[0]["Request Count"]) <= len(rows)
    assert (tmp_path / "load.html").stat().st_size > 0
