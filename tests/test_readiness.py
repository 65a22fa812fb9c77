"""Warm-up: the skills lexicon, the model and every pool's index are loaded once, at start, and `/readyz`
says when the server may take traffic, and what it waits for until then."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_workspace

from cerebro_serve.once import load_once
from cerebro_serve.services import Workspace
from cerebro_serve.services import workspace as workspace_module
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.records import RecordService


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


class HeldFirstEncode:
    """The workspace's encoder, holding its first encode (warm-up's) until released."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked = threading.Event()
        self.release = threading.Event()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not self.asked.is_set():
            self.asked.set()
            self.release.wait(30)
        return self.inner.embed_documents(texts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_not_ready_until_the_model_answered_an_encode(store, batcher, tmp_path: Path) -> None:
    held = HeldFirstEncode(batcher)
    workspace = make_workspace(store, held, tmp_path / "indexes", new_key())
    try:
        with _app_client(workspace) as client:
            assert held.asked.wait(60)
            waiting = client.get("/readyz")
            assert waiting.status_code == 503
            assert waiting.json()["message"] == "Service Unavailable. Warming up: loading the model (a first encode)."
            assert client.get("/healthz").status_code == 200
            held.release.set()
            assert workspace.ready.wait(60)
            assert client.get("/readyz").status_code == 200
    finally:
        held.release.set()
        workspace.close()


def test_not_ready_until_every_pool_index_is_loaded(
    store, batcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = {"source": "a" * 40, "board": "b" * 40}
    for kind, key in pools.items():
        store.pools.create_pool(kind, key, f"A {kind}", None)
    opening, release = threading.Event(), threading.Event()
    real = RecordService.pool_index

    def held(self: RecordService, pool_key: str) -> Any:
        opening.set()
        release.wait(30)
        return real(self, pool_key)

    monkeypatch.setattr(RecordService, "pool_index", held)
    workspace = make_workspace(store, batcher, tmp_path / "indexes", new_key())
    try:
        with _app_client(workspace) as client:
            assert opening.wait(60)
            waiting = client.get("/readyz")
            assert waiting.status_code == 503
            assert waiting.json()["message"] == (
                "Service Unavailable. Warming up: loading the pools' indexes (0 of 2 loaded)."
            )
            assert client.get("/healthz").status_code == 200
            release.set()
            assert workspace.ready.wait(60)
            assert client.get("/readyz").status_code == 200
            # Loaded by warm-up, before any request asked for them.
            assert {stats.pool_key for stats in workspace.registry.stats()} == set(pools.values())
    finally:
        release.set()
        workspace.close()


def test_a_pool_that_fails_to_load_does_not_keep_the_server_unready(
    store, batcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, fine = "c" * 40, "d" * 40
    store.pools.create_pool("source", broken, "Broken", None)
    store.pools.create_pool("source", fine, "Fine", None)
    real = RecordService.pool_index

    def failing(self: RecordService, pool_key: str) -> Any:
        if pool_key == broken:
            raise OSError("index file unreadable")
        return real(self, pool_key)

    monkeypatch.setattr(RecordService, "pool_index", failing)
    workspace = make_workspace(store, batcher, tmp_path / "indexes", new_key())
    try:
        with _app_client(workspace) as client:
            assert workspace.ready.wait(60)
            assert client.get("/readyz").status_code == 200
            assert {stats.pool_key for stats in workspace.registry.stats()} == {fine}
    finally:
        workspace.close()
