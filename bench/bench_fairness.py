"""Small writes while a large profile is being indexed: does one big record stall everyone?

In process, on the server's own wiring (`cli.build_workspace`, embedded defaults, a temporary data dir):
20 small profiles are indexed one after another with nothing else running (quiet), then again while one
profile of `--chars` characters is being indexed on another thread. Reports each phase's small-write
latency and the large write's duration. Run it from two trees (the previous commit as the baseline) to
compare; `python -m bench.bench_fairness --chars 200000`.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from cerebro_serve.cli import build_workspace
from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.services.queries import PoolCreate
from cerebro_serve.settings import Settings

RESUME = (
    "Senior backend engineer. Eight years building REST APIs with Python and Django, PostgreSQL tuning, "
    "Docker and Kubernetes on AWS, CI/CD pipelines, mentoring juniors, on-call rotations. "
)
SMALL_WRITES = 20


def small_writes(workspace, source: str, label: str) -> list[float]:  # type: ignore[no-untyped-def]
    latencies = []
    for number in range(SMALL_WRITES):
        started = time.perf_counter()
        workspace.records.index(PROFILE, source, [Profile(text=f"{label} candidate {number}. {RESUME}")])
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=200_000, help="length of the large profile's text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workspace, batcher = build_workspace(Settings.from_env(data_dir=Path(directory)), training_worker=False)
        try:
            source = workspace.pools.create(PROFILE, PoolCreate(name="fairness")).key
            small_writes(workspace, source, "warm-up")
            quiet = small_writes(workspace, source, "quiet")

            big_text = (RESUME * (args.chars // len(RESUME) + 1))[: args.chars]
            big_seconds: list[float] = []

            def index_big() -> None:
                started = time.perf_counter()
                workspace.records.index(PROFILE, source, [Profile(text=big_text)])
                big_seconds.append(time.perf_counter() - started)

            big = threading.Thread(target=index_big)
            big.start()
            time.sleep(0.5)  # the large profile is in the encoder's queue
            loaded = small_writes(workspace, source, "loaded")
            big.join()
        finally:
            workspace.close()
            batcher.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; large profile {args.chars:,} characters")
    print("| phase | small write p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|")
    for phase, samples in (("quiet", quiet), ("while the large profile is indexed", loaded)):
        values = np.asarray(samples)
        print(f"| {phase} | {np.percentile(values, 50):.0f} | {np.percentile(values, 99):.0f} | {values.max():.0f} |")
    print(f"large profile indexed in {big_seconds[0]:.1f} s")


if __name__ == "__main__":
    main()
