"""`CEREBRO_WORKERS=2`: two server processes on one port answer alike, see each other's writes within the
sync interval, and map the same published index files (one copy in memory for both)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from helpers import NURSE_RESUME, PYTHON_JOB, PYTHON_RESUME, profile
from test_durability import Server, _request

DEADLINE_SECONDS = 60


def _workers(pid: int) -> list[int]:
    """The server's worker processes (spawned by uvicorn's supervisor; not multiprocessing's tracker)."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def _mapped_generations(pid: int, pool_key: str) -> set[str]:
    """The generations of the pool's index files this process has mapped."""
    names = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        path = line.split()[-1]
        if f"/{pool_key}/g" in path and path.endswith("vectors.npy"):
            names.add(path.split(f"/{pool_key}/")[1].split("/")[0])
    return names


def _until(check, what: str):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"not within {DEADLINE_SECONDS} s: {what}")


def test_two_workers_share_the_index_files_and_each_others_writes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    # MiniLM: two workers each holding e5 (the default) on 2 CI cores once missed the 60 s deadline below.
    settings = {"CEREBRO_WORKERS": "2", "CEREBRO_INDEX_SYNC_SECONDS": "0.2", "CEREBRO_MODEL": "all-MiniLM-L6-v2"}
    server = Server(data_dir, settings)
    key = (data_dir / "api_key").read_text().strip()
    try:
        workers = _until(lambda: len(_workers(server.process.pid)) == 2 and _workers(server.process.pid), "2 workers")
        _until(lambda: all(_ready(server) for _ in range(6)), "every worker ready")
        source = _request(server.base, key, "POST", "source", {"name": "Pool"})["data"]["key"]
        board = _request(server.base, key, "POST", "board", {"name": "Jobs"})["data"]["key"]
        job = _request(server.base, key, "POST", "job/indexing", {**PYTHON_JOB, "board_key": board})["data"]["key"]
        created = [
            _request(server.base, key, "POST", "profile/indexing", profile(text, source_key=source))["data"]["key"]
            for text in (PYTHON_RESUME, NURSE_RESUME)
        ]
        path = f"profiles/scoring?source_keys=%5B%22{source}%22%5D&board_key={board}&job_key={job}&sort_by=scoring"

        def rankings() -> list[list[str]]:
            answers = [_request(server.base, key, "GET", path) for _ in range(8)]  # a new connection each
            assert all("data" in answer for answer in answers), answers
            return [[found["key"] for found in answer["data"]["profiles"]] for answer in answers]

        # Both workers loaded the pool (every request opens a connection of its own) and rank alike.
        seen = _until(lambda: len({json.dumps(r) for r in rankings()}) == 1 and rankings(), "the same ranking")
        assert sorted(seen[0]) == sorted(created) and seen[0][0] == created[0]
        generations = _until(
            lambda: (
                all(_mapped_generations(pid, source) for pid in workers)
                and [_mapped_generations(pid, source) for pid in workers]
            ),
            "both workers mapping the pool's files",
        )
        assert generations[0] & generations[1], "the two workers map different files"

        # A write answered by one worker is in the other's rankings within the sync interval.
        third = _request(server.base, key, "POST", "profile/indexing", profile(PYTHON_RESUME, source_key=source))
        _until(lambda: all(third["data"]["key"] in ranking for ranking in rankings()), "the write in every worker")
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=120) == 0


def _ready(server: Server) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(server.base.replace("/v1/", "/readyz"), timeout=10) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False
