"""Memory of the server per worker process, with 1 and 2 workers, over the seeded 100k-profile workspace
(bench/seed_load.py): what each worker holds on its own and what the pools' index files cost once for all.

For each worker process, from /proc/<pid>/smaps: resident memory (RSS), proportional set size (PSS: a
page shared by two processes counts half to each), the pages of the pools' index files it maps (resident,
and shared with another process), and its private memory. Each worker is warmed first (the scoring,
searching routes over new connections, so that every worker loads the pool).

Usage: .venv/bin/python -m bench.bench_workers [--profiles 100000] [--data-root /tmp/cerebro-load] [--seed-dir D]
Throughput with 1 and 2 workers is `bench.bench_load capacity --workers N` (the same seeded data dir).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.bench_load import fresh_copy, machine, seeded, server, warm

RESULTS = Path(__file__).resolve().parent / "results" / "workers"


def smaps(pid: int, index_dir: Path) -> dict[str, float]:
    """MiB of a process's memory: all of it, and the part that maps files under `index_dir`."""
    totals = {"rss": 0, "pss": 0, "private": 0, "index_rss": 0, "index_shared": 0}
    in_index = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's header: address range, perms, ..., path
            in_index = len(fields) >= 6 and fields[5].startswith(str(index_dir))
            continue
        name, kib = fields[0][:-1], int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        if name == "Rss":
            totals["rss"] += kib
            totals["index_rss"] += kib if in_index else 0
        elif name == "Pss":
            totals["pss"] += kib
        elif name in ("Private_Clean", "Private_Dirty"):
            totals["private"] += kib
        elif name in ("Shared_Clean", "Shared_Dirty") and in_index:
            totals["index_shared"] += kib
    return {name: round(kib / 1024, 1) for name, kib in totals.items()}


def workers_of(pid: int) -> list[psutil.Process]:
    """The processes that serve: uvicorn's workers, or the server itself when it runs alone."""
    parent = psutil.Process(pid)
    spawned = [child for child in parent.children() if "spawn_main" in " ".join(child.cmdline())]
    return spawned or [parent]


def measure(seed_dir: Path, data_root: Path, workers: int) -> dict[str, Any]:
    run_dir = fresh_copy(seed_dir, data_root / f"workers-{workers}")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    with server(run_dir, None, workers) as running:
        for _ in range(4 * workers):  # new connections: each worker gets some of them
            warm(running, manifest)
        processes = workers_of(running.process.pid)
        deadline = time.monotonic() + 120
        index_dir = (run_dir / "indexes").resolve()
        # Every worker maps the pool's published files once its index sync has run.
        while time.monotonic() < deadline and not all(smaps(p.pid, index_dir)["index_rss"] for p in processes):
            warm(running, manifest)
            time.sleep(1)
        per_worker = [smaps(process.pid, index_dir) for process in processes]
        with httpx.Client(timeout=30) as client:
            ready = client.get(f"{running.base_url}/readyz").status_code
    return {"workers": workers, "ready": ready, "per_worker": per_worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/cerebro-load"))
    parser.add_argument("--seed-dir", type=Path, help="a data dir bench.seed_load made (else seeded now)")
    args = parser.parse_args()
    args.data_root.mkdir(parents=True, exist_ok=True)
    seed_dir = args.seed_dir or seeded(args.data_root, args.profiles, None)
    result = {
        "machine": machine(),
        "profiles": args.profiles,
        "runs": [measure(seed_dir, args.data_root, workers) for workers in (1, 2)],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
