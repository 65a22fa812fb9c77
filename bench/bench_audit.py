"""What the audit trail costs a scoring call: `GET /v1/profiles/scoring` on the demo workspace (200
profiles, 50 jobs, page of 10) through the app with the trail and through the same app built without its
middleware, alternated call by call in one run (in process, Litestar's test client, SQLite).

Usage: .venv/bin/python -m bench.bench_audit
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

from litestar.testing import TestClient

import cerebro_serve.api.app as app_module
from bench.bench_scoring import percentiles
from cerebro_serve.api import create_app
from cerebro_serve.cli import gate_policy
from cerebro_serve.demo import load_demo
from cerebro_serve.engine import load_encoder
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.services import Workspace
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.queries import JobsStoringQuery, PoolListQuery
from cerebro_serve.settings import Settings
from cerebro_serve.store import SqlStore

ROUNDS = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings()
        key = new_key("all")
        workspace = Workspace(
            SqlStore(f"sqlite:///{Path(directory) / 'bench.db'}"),
            load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch"),
            Path(directory) / "indexes",
            key,
            DocumentSandbox(timeout_seconds=settings.parse_timeout_seconds),
            embed_max_chars=settings.embed_max_chars,
            audit_retention_days=settings.audit_retention_days,
            release_gate=gate_policy(settings),
        )
        load_demo(workspace)
        [source] = workspace.pools.list(PROFILE, PoolListQuery()).items
        [board] = workspace.pools.list(JOB, PoolListQuery()).items
        jobs = workspace.records.list(JOB, JobsStoringQuery(board_keys=[board.key], limit=50, return_job=True)).items
        audited = create_app(workspace, settings.max_body_bytes)
        recording = app_module.record_exchanges
        app_module.record_exchanges = lambda app: app  # the same app, without the trail's middleware
        plain = create_app(workspace, settings.max_body_bytes)
        app_module.record_exchanges = recording
        samples: dict[str, list[float]] = {"with the trail": [], "without": []}
        with TestClient(audited) as with_trail, TestClient(plain) as without:
            for client in (with_trail, without):
                client.headers["X-API-KEY"] = key
            for _ in range(ROUNDS):
                for job in jobs:
                    params = {
                        "source_keys": json.dumps([source.key]),
                        "board_key": board.key,
                        "job_key": job.key,
                        "sort_by": "scoring",
                        "limit": "10",
                    }
                    for name, client in (("with the trail", with_trail), ("without", without)):
                        t0 = time.perf_counter()
                        assert client.get("/v1/profiles/scoring", params=params).status_code == 200
                        samples[name].append(time.perf_counter() - t0)
        workspace.audit.flush()
        recorded = workspace.audit.verify().checked
        workspace.close()
    base = percentiles(samples["without"])
    print(f"machine: {platform.machine()}; {len(jobs)} jobs x {ROUNDS} rounds; {recorded} events recorded and verified")
    print("| app | p50 ms | p99 ms | p50 / without | p99 / without |")
    print("|---|---|---|---|---|")
    for name, values in samples.items():
        p50, p99 = percentiles(values)
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {p50 / base[0]:.2f} | {p99 / base[1]:.2f} |")


if __name__ == "__main__":
    main()
