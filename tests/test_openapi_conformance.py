"""Schemathesis against a running server: every operation of /docs/openapi.json, valid and invalid calls,
all its checks (no server error, statuses, content types, bodies and headers as documented, valid data
accepted, invalid data refused, auth not ignored, 405 with Allow). Bounded: a fixed number of examples per
operation, deterministic generation, a time budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

TESTS = Path(__file__).parent
EXAMPLES_PER_OPERATION = 5
TIME_BUDGET_SECONDS = 300


def _made(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


def _known_objects(api: httpx.Client) -> dict[str, str]:
    """A pool of each kind, a profile and a job in them, a profile to erase, a forked algorithm and a
    training on it."""
    source = _made(api.post("source", json={"name": "Candidates"}))["key"]
    board = _made(api.post("board", json={"name": "Jobs"}))["key"]
    profile = _made(
        api.post(
            "profile/indexing",
            json={"source_key": source, "reference": "cand-1", "text": "Python engineer, Spark and SQL"},
        )
    )
    erasable = _made(api.post("profile/indexing", json={"source_key": source, "reference": "cand-2", "text": "Nurse"}))
    job = _made(api.post("job/indexing", json={"board_key": board, "reference": "req-1", "name": "Data Engineer"}))
    algorithm = _made(
        api.post(
            "algorithm",
            json={
                "base": "cerebro-trainable",
                "name": "conformance",
                "labeller_role": "recruiter",
                "goals": [{"action": "hired", "outcome": "positive"}],
            },
        )
    )["key"]
    training = _made(api.post("algorithm/training", json={"algorithm_key": algorithm, "mode": "rating"}))
    copilot = _made(
        api.post("copilot", json={"type": "talent", "name": "Careers", "source_keys": [source], "board_keys": [board]})
    )["key"]
    _made(api.post("text/linking", json={"word": "python"}))  # embeds the taxonomy once, before timing starts
    return {
        "source_key": source,
        "board_key": board,
        "profile_key": profile["key"],
        "profile_reference": "cand-1",
        "erasable_profile_key": erasable["key"],
        "erasable_profile_reference": "cand-2",
        "job_key": job["key"],
        "job_reference": "req-1",
        "algorithm_key": algorithm,
        "training_key": training["training_key"],
        "copilot_key": copilot,
    }


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.timeout(TIME_BUDGET_SECONDS + 120)
def test_the_server_conforms_to_its_openapi_document(live_server: str, admin_key: str) -> None:
    # The first text/linking call embeds the taxonomy (~40 s on 2 cores, more when the machine is shared).
    with httpx.Client(base_url=live_server, headers={"X-API-KEY": admin_key}, timeout=300) as api:
        known = _known_objects(api)
    origin = live_server.removesuffix("/v1/")
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "CEREBRO_KNOWN": json.dumps(known),
    }
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{origin}/docs/openapi.json",
        "--checks=all",
        f"--max-examples={EXAMPLES_PER_OPERATION}",
        f"--max-time={TIME_BUDGET_SECONDS}",
        "--generation-deterministic",
        "--workers=1",
        "--request-timeout=60",
        "--no-color",
        f"--header=X-API-KEY: {admin_key}",
    ]
    run = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=TIME_BUDGET_SECONDS + 60)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20000:]
    assert "No issues found" in report or " passed" in report, report[-5000:]
