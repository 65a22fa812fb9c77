"""Warm-up: the skills lexicon is built once, at start, and `/readyz` says when the server may take traffic."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import make_workspace

from cerebro_serve.once import load_once
from cerebro_serve.services import Workspace
from cerebro_serve.services import workspace as workspace_module
from cerebro_serve.services.keys import new_key


def test_concurrent_first_callers_share_one_load() -> None:
    calls: list[int] = []

    def slow_load() -> object:
        calls.append(1)
        time.sleep(0.2)
        return object()

    loaded = load_once(slow_load)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: loaded(), range(8)))
    assert len(calls) == 1 and all(result is results[0] for result in results)


def test_probes_answer_without_a_key(client) -> None:
    del client.headers["X-API-KEY"]
    assert client.get("/healthz").json() == {"code": 200, "message": "alive"}
    deadline = time.monotonic() + 60
    while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get("/readyz").json() == {"code": 200, "message": "ready"}


def _app_client(workspace: Workspace):
    from litestar.testing import TestClient

    from cerebro_serve.api import create_app

    return TestClient(create_app(workspace, 1024 * 1024), base_url="http://testserver.local")


def test_not_ready_until_the_lexicon_is_loaded(store, batcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = workspace_module.default_lexicon
    monkeypatch.setattr(workspace_module, "default_lexicon", lambda: release.wait(30) and real())
    workspace = make_workspace(store, batcher, tmp_path / "indexes", new_key())
    try:
        with _app_client(workspace) as client:
            waiting = client.get("/readyz")
            assert waiting.status_code == 503 and "Warming up" in waiting.json()["message"]
            release.set()
            assert workspace.ready.wait(60)
            assert client.get("/readyz").status_code == 200
    finally:
        workspace.close()


def test_a_failed_warm_up_keeps_the_server_unready(
    store, batcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise OSError("lexicon.tsv.gz: no such file")

    monkeypatch.setattr(workspace_module, "default_lexicon", broken)
    workspace = make_workspace(store, batcher, tmp_path / "indexes", new_key())
    try:
        with _app_client(workspace) as client:
            deadline = time.monotonic() + 10
            while workspace.warm_up_error is None and time.monotonic() < deadline:
                time.sleep(0.05)
            answer = client.get("/readyz")
            assert answer.status_code == 503 and "no such file" in answer.json()["message"]
    finally:
        workspace.close()


def test_readiness_fails_while_the_store_does_not_answer(client, workspace: Workspace, monkeypatch) -> None:
    """A database restarting takes the instance out of the load balancer until it answers again."""
    deadline = time.monotonic() + 60
    while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)

    def refused() -> None:
        raise OSError("connection refused\nsecond line not shown")

    monkeypatch.setattr(workspace.store, "ping", refused)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["message"] == "Service Unavailable. The store is unreachable: OSError: connection refused"
    assert client.get("/healthz").status_code == 200  # alive all the same: no restart for a database outage
    monkeypatch.undo()
    assert client.get("/readyz").status_code == 200
