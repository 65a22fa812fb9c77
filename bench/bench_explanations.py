"""What an explanation costs, on a pool of 1M profiles, against the scoring call alone, in one run.

The pool is bench/bench_scale.py's (grown from 3,237 real embedded resumes; the real server, SQLite,
index loaded from disk, one uvicorn worker). Its store holds small bodies, so before timing, the profiles
each query job's first page shows get their real resume, features and view vectors in the store (the
ones their index rows were grown from): explaining them reads what explaining real records reads.

Timed per query job, sequentially and interleaved (so noise falls on all alike):
- scoring: `GET /v1/profiles/scoring`, page of 10 (the baseline);
- page explained: the same call with `explain=true` (10 short explanations);
- grading: `GET /v1/profile/grading` of the page's first profile (one pair, with evidence spans);
- upskilling: `GET /v1/profile/upskilling` of the same pair (re-scores it with each of up to 8 missing
  skills: one encoder call).

Usage: .venv/bin/python -m bench.bench_explanations [--size 1000000] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
import numpy as np

from bench.bench_scale import (
    PAGE,
    free_port,
    grown_from,
    percentiles,
    serve,
    synthetic_pool,
    wait_ready,
    write_workspace,
)
from bench.devdata import Side
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.objects import Info, Job, Profile
from cerebro_serve.store import SqlStore
from cerebro_serve.store.schema import records

KINDS = ("scoring", "page explained", "grading", "upskilling")


def give_real_bodies(
    directory: Path, base: Side, origins: np.ndarray, record_ids: set[int], model: str, jobs: dict[str, str]
) -> None:
    """The stored profile of each record id becomes the resume its index row was grown from; each query
    job's body, its text (write_workspace stored its vectors and features, not its text)."""
    store = SqlStore(f"sqlite:///{directory / 'cerebro.db'}")
    with store.engine.begin() as connection:
        for key, text in jobs.items():
            body = msgspec.json.encode(Job(name="job", summary=text))
            connection.execute(records.update().where(records.c.key == key).values(body=body))
        for record_id in sorted(record_ids):
            origin = int(origins[record_id - 1])  # record ids are rows + 1
            body = Profile(info=Info(full_name=f"Profile {record_id}"), text=base.texts[origin])
            connection.execute(
                records.update()
                .where(records.c.id == record_id)
                .values(
                    body=msgspec.json.encode(body),
                    model=vectors_tag(model),
                    embedding=np.ascontiguousarray(base.vectors[origin], dtype=np.float32).tobytes(),
                    features=base.features[origin].encode(),
                )
            )
    store.close()


def timed(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    response = client.get(url, params=params)
    elapsed = time.perf_counter() - t0  # seconds: percentiles() reports milliseconds
    body = response.json()
    assert body["code"] == 200, body
    return elapsed, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    encoder = load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch")
    rjdb, base = grown_from(encoder)
    jobs = rjdb.split(1)[: args.queries]
    pool, _, origins = synthetic_pool(base, args.size)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; pool {args.size:,}; {len(jobs)} query jobs")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        directory = Path(scratch)
        source, board, job_keys = write_workspace(directory, pool, args.size, rjdb, jobs, encoder.name)
        del pool
        key = "ask_" + "0" * 32
        headers = {"X-API-KEY": key}
        port = free_port()
        command = [sys.executable, "-m", "cerebro_serve", "serve", "--data-dir", scratch, "--port", str(port)]
        server = serve(command, {"CEREBRO_API_KEY": key, "CEREBRO_DEVICE": "cpu"}, directory / "server.log")
        samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
        try:
            url = f"http://127.0.0.1:{port}/v1/"
            wait_ready(f"{url}sources", headers, server)
            with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
                scoring = [
                    {
                        "source_keys": json.dumps([source]),
                        "board_key": board,
                        "job_key": job,
                        "sort_by": "scoring",
                        "limit": str(PAGE),
                    }
                    for job in job_keys
                ]
                pages = [timed(client, "profiles/scoring", params)[1] for params in scoring]  # loads the index
                shown = {int(profile["id"]) for page in pages for profile in page["data"]["profiles"]}
                texts = {key: rjdb.jobs.texts[job] for key, job in zip(job_keys, jobs)}
                give_real_bodies(directory, base, origins, shown, encoder.name, texts)
                calls = []
                for params, page in zip(scoring, pages):
                    first = page["data"]["profiles"][0]["key"]
                    pair = {
                        "source_key": source,
                        "board_key": board,
                        "job_key": params["job_key"],
                        "profile_key": first,
                    }
                    calls.append(
                        (
                            ("scoring", "profiles/scoring", params),
                            ("page explained", "profiles/scoring", {**params, "explain": "true"}),
                            ("grading", "profile/grading", pair),
                            ("upskilling", "profile/upskilling", pair),
                        )
                    )
                for _, path, params in calls[0]:  # first calls load what later ones reuse
                    timed(client, path, params)
                for call in calls:
                    for kind, path, params in call:
                        samples[kind].append(timed(client, path, params)[0])
        finally:
            server.terminate()
            server.wait()
    baseline = percentiles(samples["scoring"])
    for kind in KINDS:
        p50, p99 = percentiles(samples[kind])
        line = {
            "call": kind,
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
            "p50_ratio_to_scoring": round(p50 / baseline[0], 2),
            "p99_ratio_to_scoring": round(p99 / baseline[1], 2),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
