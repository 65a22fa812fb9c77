"""Scoring throughput and latency of one server against closed-loop concurrent clients, for serving
configurations side by side in one run: the baseline (every native library thread on every core in each
request, one process: how the server ran before `CEREBRO_REQUEST_THREADS`), one native thread per
request, and that with two worker processes.

Each configuration gets a fresh copy of bench/seed_load.py's 100k-profile workspace (`--base rjdb`,
seeded once into `--data-root`), is warmed, then serves `profiles/scoring` (a real rjdb job's key, page
of 10, sorted by score) to 1, 2, 4 and 8 clients on keep-alive connections, `--requests` each. Reported:
requests/s, client p50/p99, the server's cores (its process and children), and its Server-Timing
stages' medians. Results: bench/results/serving.json and bench/RESULTS.md.

    .venv/bin/python -m bench.bench_serving [--requests 300] [--snapshot]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.bench_load import (
    LOCK,
    LOCKED_ENV,
    ROOT,
    Server,
    cpu_accounts,
    fresh_copy,
    log,
    seeded,
    server,
    snapshot,
    warm,
)

OUT = ROOT / "bench" / "results" / "serving.json"
CLIENTS = (1, 2, 4, 8)
CONFIGURATIONS = {
    "baseline: native threads on every core, 1 process": ({"CEREBRO_REQUEST_THREADS": str(os.cpu_count() or 1)}, 1),
    "1 native thread per request, 1 process": ({"CEREBRO_REQUEST_THREADS": "1"}, 1),
    "1 native thread per request, 2 processes": ({"CEREBRO_REQUEST_THREADS": "1"}, 2),
}
STAGES = ("anchor", "mask", "retrieve", "rerank", "load", "total")


def clients_run(urls: list[str], headers: dict[str, str], clients: int, running: Server) -> dict[str, Any]:
    latencies: list[float] = []
    stages: list[dict[str, float]] = []

    def one(client: httpx.Client, url: str) -> None:
        started = time.perf_counter()
        answer = client.get(url, headers=headers, timeout=60)
        answer.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
        timing = re.findall(r"([a-z]+);dur=([0-9.]+)", answer.headers.get("server-timing", ""))
        stages.append({name: float(ms) for name, ms in timing})

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(limits=limits) as client, ThreadPoolExecutor(clients) as pool:
        cpu, started = cpu_accounts(running)["server"], time.perf_counter()
        list(pool.map(lambda url: one(client, url), urls))
        wall = time.perf_counter() - started
        cores = (cpu_accounts(running)["server"] - cpu) / wall
    return {
        "clients": clients,
        "requests_per_s": round(len(urls) / wall, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "server_cores": round(cores, 2),
        "server_stage_medians_ms": {
            name: round(float(np.median([found.get(name, 0.0) for found in stages])), 1) for name in STAGES
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/cerebro-load"))
    parser.add_argument("--requests", type=int, default=300, help="per client count")
    parser.add_argument("--snapshot", action="store_true", help="serve HEAD's cerebro_serve (git archive)")
    args = parser.parse_args()
    code = snapshot(args.data_root) if args.snapshot else None
    seed_dir = seeded(args.data_root, args.profiles, code, base="rjdb")
    manifest = json.loads((seed_dir / "manifest.json").read_text())
    source = json.dumps([manifest["source_key"]])
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "profiles": args.profiles,
        "requests_per_run": args.requests,
        "configurations": {},
    }
    if not os.environ.get(LOCKED_ENV):  # the timed part holds the bench lock; seeding (above) did not
        log(f"waiting for {LOCK}")
        os.environ[LOCKED_ENV] = "1"
        os.execvp("flock", ["flock", LOCK, sys.executable, "-m", "bench.bench_serving", *sys.argv[1:]])
    for name, (settings, workers) in CONFIGURATIONS.items():
        run_dir = fresh_copy(seed_dir, args.data_root / "run")
        with server(run_dir, code, workers, settings) as running:
            warm(running, manifest)
            base = f"{running.base_url}/v1/profiles/scoring"
            jobs = manifest["job_keys"]
            urls = [
                f"{base}?source_keys={source}&board_key={manifest['board_key']}&job_key={jobs[i % len(jobs)]}"
                "&sort_by=scoring&limit=10"
                for i in range(args.requests)
            ]
            headers = {"X-API-KEY": manifest["read_key"]}
            clients_run(urls[:50], headers, 2, running)  # warm both workers' pools
            runs = [clients_run(urls, headers, clients, running) for clients in CLIENTS]
        for run in runs:
            log(f"{name}: {json.dumps(run)}")
        report["configurations"][name] = runs
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    log(f"figures in {OUT}")


if __name__ == "__main__":
    main()
