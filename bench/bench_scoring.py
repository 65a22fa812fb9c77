"""Scoring latency on the demo workspace (200 profiles, 50 jobs), in process, against a naive baseline.

Ours: `Workspace.ranking.score_profiles` (job vectors and features read from the store, row mask, exact
search, native fused re-ranker, page of 10 objects decoded).
Naive baseline, same run, same data: encode the job text with sentence-transformers at request time,
numpy dot over all profile vectors, full argsort, decode the same 10 objects.
Usage: .venv/bin/python bench/bench_scoring.py
"""

from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

from cerebro_serve.cli import gate_policy
from cerebro_serve.demo import load_demo
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import job_view
from cerebro_serve.objects import JOB, PROFILE, Profile
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.services import Workspace
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.queries import JobsStoringQuery, PoolListQuery, ProfilesScoringQuery
from cerebro_serve.settings import Settings
from cerebro_serve.store import SqlStore

ROUNDS = 5
PAGE = 10


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = SqlStore(f"sqlite:///{Path(directory) / 'bench.db'}")
        encoder = load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch")
        settings = Settings()
        sandbox = DocumentSandbox(timeout_seconds=settings.parse_timeout_seconds)
        workspace = Workspace(
            store,
            encoder,
            Path(directory) / "indexes",
            new_key(),
            sandbox,
            embed_max_chars=settings.embed_max_chars,
            audit_retention_days=settings.audit_retention_days,
            release_gate=gate_policy(settings),
        )
        start = time.perf_counter()
        load_demo(workspace)
        load_seconds = time.perf_counter() - start
        [source] = workspace.pools.list(PROFILE, PoolListQuery()).items
        [board] = workspace.pools.list(JOB, PoolListQuery()).items
        jobs = workspace.records.list(JOB, JobsStoringQuery(board_keys=[board.key], limit=50, return_job=True)).items

        pool = workspace.records.pool_index(source.key)
        snapshot = pool.columns.snapshot()
        ids = snapshot.record_ids[: snapshot.rows]
        matrix = pool.vectors.matrix[: snapshot.rows].copy()

        ours, naive = [], []
        for _ in range(ROUNDS):
            for job in jobs:
                query = ProfilesScoringQuery(
                    source_keys=[source.key], board_key=board.key, job_key=job.key, sort_by="scoring", limit=PAGE
                )
                t0 = time.perf_counter()
                workspace.ranking.score_profiles(query)
                ours.append(time.perf_counter() - t0)

                t0 = time.perf_counter()
                vector = encoder._model.encode([job_view(job)], normalize_embeddings=True)[0]
                order = np.argsort(-(matrix @ vector))[:PAGE]
                [msgspec.json.decode(r.body, type=Profile) for r in store.records.load_records(ids[order].tolist())]
                naive.append(time.perf_counter() - t0)

        ours_p50, ours_p99 = percentiles(ours)
        naive_p50, naive_p99 = percentiles(naive)
        print(f"machine: {platform.machine()}, {len(ids)} profiles, {len(jobs)} jobs x {ROUNDS} rounds, page {PAGE}")
        print(f"demo load (250 records embedded and indexed): {load_seconds:.1f} s")
        print("| path | p50 ms | p99 ms |")
        print("|---|---|---|")
        print(f"| cerebro score_profiles | {ours_p50:.2f} | {ours_p99:.2f} |")
        print(f"| naive encode + dot + argsort | {naive_p50:.2f} | {naive_p99:.2f} |")
        print(f"| ratio (naive / ours) | {naive_p50 / ours_p50:.1f}x | {naive_p99 / ours_p99:.1f}x |")
        workspace.close()


if __name__ == "__main__":
    main()
