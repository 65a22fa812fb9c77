"""Graceful shutdown: on SIGTERM the server stops accepting connections, lets the request in flight finish,
drains the encoder (later calls get a 503), saves the indexes with the last write, and exits 0."""

from __future__ import annotations

import json
import queue
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from helpers import PYTHON_RESUME, SETTINGS, make_batcher, make_workspace, profile
from litestar.testing import TestClient
from test_durability import Server

from cerebro_serve.api import create_app
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.index import IndexRegistry
from cerebro_serve.services.keys import new_key
from cerebro_serve.store import SqlStore

LINE_WAIT_SECONDS = 60  # a guard against a hang: the lines come within seconds


class Output:
    """The server's log, read line by line on a thread so that the test can wait for a line."""

    def __init__(self, server: Server) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert server.process.stdout is not None
        stdout = server.process.stdout
        threading.Thread(target=lambda: [self.lines.put(line) for line in stdout], daemon=True).start()

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + LINE_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"the server never logged {text!r}; it logged:\n{''.join(self.seen)}")


def _call(base: str, key: str, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"X-API-KEY": key, "Content-Type": "application/json"}
    with urllib.request.urlopen(
        urllib.request.Request(base + path, data, headers, method=method), timeout=60
    ) as answer:
        return json.loads(answer.read())


def _read_head(connection: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(1)
        assert chunk, f"connection closed after {head!r}"
        head += chunk
    return head


def test_sigterm_lets_the_request_in_flight_finish_and_saves_it_in_the_index(encoder, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir, {"CEREBRO_MODEL": encoder.name})  # the model the index files are read with
    output = Output(server)
    key = (data_dir / "api_key").read_text().strip()
    try:
        source = _call(server.base, key, "POST", "source", {"name": "Pool"})["data"]["key"]
        body = json.dumps(profile(PYTHON_RESUME, source_key=source, reference="in-flight")).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=120) as connection:
            connection.sendall(
                b"POST /v1/profile/indexing HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                + f"X-API-KEY: {key}\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
            )
            # The app asked for the body: the request is being handled when the signal comes.
            assert _read_head(connection).startswith(b"HTTP/1.1 100")
            server.process.send_signal(signal.SIGTERM)
            output.wait_for("Waiting for connections to close")
            with pytest.raises(ConnectionRefusedError):  # no new connection once shutting down
                socket.create_connection(("127.0.0.1", server.port), timeout=10).close()
            connection.sendall(body)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 201"), answer
        stored = json.loads(payload)["data"]
        assert server.process.wait(timeout=120) == 0
    finally:
        if server.process.poll() is None:
            server.kill()

    _assert_saved_in_the_index_files(data_dir, encoder, source, stored["key"])
    restarted = Server(data_dir, {"CEREBRO_MODEL": encoder.name})
    try:
        fetched = _call(restarted.base, key, "GET", f"profile/indexing?source_key={source}&reference=in-flight")
        assert fetched["data"]["key"] == stored["key"]
    finally:
        restarted.kill()


def _assert_saved_in_the_index_files(data_dir: Path, encoder: Any, source: str, record_key: str) -> None:
    """The pool's index loads from its files alone (a rebuild from the store would fail here), at the
    store's revision, with the record's row."""
    store = SqlStore(f"sqlite:///{data_dir / 'cerebro.db'}")
    try:
        record = store.records.find_record("profile", source, key=record_key)
        assert record is not None

        def no_rebuild(*_: object) -> None:
            raise AssertionError("the index was rebuilt from the store: its files were missing or stale")

        store.records.index_rows = no_rebuild  # type: ignore[method-assign]
        registry = IndexRegistry(store, data_dir / "indexes", vectors_tag(encoder.name), encoder.dimension)
        index, stale = registry.open(source)
        assert stale == [] and index.revision == store.pools.pool_revision(source)
        assert len(index.vectors) == 1
    finally:
        store.close()


def test_after_the_drain_began_the_encoder_answers_503(store, encoder, tmp_path: Path) -> None:
    batcher = make_batcher(encoder)
    admin = new_key()
    workspace = make_workspace(store, batcher, tmp_path / "indexes", admin)
    try:
        assert workspace.ready.wait(60)  # warm-up's encode is done
        with TestClient(create_app(workspace, SETTINGS.max_body_bytes), base_url="http://testserver.local") as client:
            client.headers["X-API-KEY"] = admin
            source = client.post("/v1/source", json={"name": "Closing"}).json()["data"]["key"]
            assert batcher.drain(30) is True
            refused = client.post("/v1/profile/indexing", json={"source_key": source, "text": "python developer"})
            assert refused.status_code == 503
            assert refused.json() == {
                "code": 503,
                "message": "Service Unavailable. The server is shutting down; send the request again.",
            }
            listed = client.get("/v1/storing/profiles", params={"source_keys": json.dumps([source])}).json()
            assert listed["meta"]["total"] == 0
    finally:
        workspace.close()
        batcher.close()
