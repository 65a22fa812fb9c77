"""A 201 means stored: killing the server right after loses nothing, and stale indexes rebuild themselves."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import NURSE_RESUME, PYTHON_JOB, PYTHON_RESUME, profile

STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request(base: str, key: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"X-API-KEY": key, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


class Server:
    """`cerebro-serve serve` as a real process on the given data dir."""

    def __init__(self, data_dir: Path, env_extra: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        env = {**os.environ, "CEREBRO_DATA_DIR": str(data_dir), "CEREBRO_DEVICE": "cpu", **(env_extra or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cerebro_serve", "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.base = f"http://127.0.0.1:{self.port}/v1/"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stdout.read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_acknowledged_writes_survive_sigkill(data_dir: Path) -> None:
    server = Server(data_dir)
    key = (data_dir / "api_key").read_text().strip()
    try:
        source = _request(server.base, key, "POST", "source", {"name": "Pool"})["data"]["key"]
        board = _request(server.base, key, "POST", "board", {"name": "Jobs"})["data"]["key"]
        created = _request(server.base, key, "POST", "profile/indexing", profile(PYTHON_RESUME, source_key=source))
        _request(server.base, key, "POST", "profile/indexing", profile(NURSE_RESUME, source_key=source))
        job = _request(server.base, key, "POST", "job/indexing", {**PYTHON_JOB, "board_key": board})
        assert created["code"] == 201 and job["code"] == 201
    finally:
        server.kill()  # no shutdown hook runs: the index files on disk are missing or stale

    restarted = Server(data_dir)
    try:
        fetched = _request(
            restarted.base, key, "GET", f"profile/indexing?source_key={source}&key={created['data']['key']}"
        )
        assert fetched["code"] == 200 and fetched["data"]["text"] == PYTHON_RESUME
        scored = _request(
            restarted.base,
            key,
            "GET",
            f"profiles/scoring?source_keys=%5B%22{source}%22%5D&board_key={board}"
            f"&job_key={job['data']['key']}&sort_by=scoring",
        )
        assert scored["meta"]["total"] == 2
        assert scored["data"]["profiles"][0]["key"] == created["data"]["key"]
    finally:
        restarted.kill()


def test_generated_admin_key_is_kept_private_and_reused(data_dir: Path) -> None:
    server = Server(data_dir)
    server.kill()
    key_file = data_dir / "api_key"
    key = key_file.read_text().strip()
    assert key.startswith("ask_") and len(key) == 36
    assert key_file.stat().st_mode & 0o077 == 0
    again = Server(data_dir)
    try:
        assert _request(again.base, key, "GET", "auth")["code"] == 200
        assert _request(again.base, "ask_" + "0" * 32, "GET", "auth")["code"] == 401
    finally:
        again.kill()


def test_a_malformed_configured_key_is_refused(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cerebro_serve", "serve"],
        env={**os.environ, "CEREBRO_DATA_DIR": str(data_dir), "CEREBRO_API_KEY": "secret"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CEREBRO_API_KEY must look like" in result.stderr
