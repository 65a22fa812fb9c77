"""Scoring a 10M-profile pool on one GPU, end to end, under an open-loop load (the device machine).

The server's own path for a scoring call, per request: a snapshot of the pool's columns, the row mask of
the request's filter (half the requests filter on a date range that keeps about half the pool), the
vector search on the card (`VectorIndex` with the fused similarity + top-k kernel: host query and mask
in, the 1,000 best rows re-scored in fp32 out) and the native fused re-ranker on the host over those
1,000, top 10. What it leaves out: HTTP, the store and the anchor's encoding (their costs do not grow
with the pool; bench/RESULTS.md measures them on their own).

The pool: random unit vectors (on the card, then a host copy for re-scoring) and a random feature table
(skills, words, years, places), the same 10M rows; similarity search does not depend on the vectors'
meaning, and the re-ranker's cost depends on the 1,000 candidates, not on the pool.

The load: requests sent at a fixed rate (open loop: a late answer does not delay the next request, and
latency counts from the planned send time), for each rate in `--rates`, by a pool of client threads.
Baseline, same run and pool: one kernel launch per request (`max_batch=1`), against concurrent searches
sharing launches (the server's default). Results go to $OUT/gpu_serving.json and stdout.

    python -m bench.gpu_serving [--rows 10000000] [--rates 250 500 1000] [--seconds 10] [--smoke]

`--smoke` runs tiny sizes on the CPU under the Triton interpreter, to check the script without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from cerebro_serve.index.columns import SIDE_VIEWS, FeatureColumns, quantize_rows
from cerebro_serve.index.filters import RowFilter, row_mask
from cerebro_serve.index.vector_index import VectorIndex
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, rerank

PAGE = 10
CLIENTS = 128


def random_feature_columns(vectors: np.ndarray, seed: int = 0, terms: tuple[int, int] = (50, 300)) -> FeatureColumns:
    """A feature table for these rows (record ids 1..n): every side view is the row's vector (one
    quantisation for the three), skills, words (`terms`: their count per row), years, places."""
    rng = np.random.default_rng(seed)
    n, dim = vectors.shape
    codes, scales = quantize_rows(vectors)
    skill_counts, term_counts = rng.integers(0, 20, n), rng.integers(*terms, n)
    rows = {
        "record_ids": np.arange(1, n + 1),
        "alive": np.ones(n, dtype=bool),
        "created_at_us": np.arange(n, dtype=np.int64),
        **{view: codes for view in SIDE_VIEWS},
        **{f"{view}_scale": scales for view in SIDE_VIEWS},
        "years": rng.uniform(0, 20, n).astype(np.float32),
        "education": rng.integers(0, 6, n).astype(np.int8),
        "languages": rng.integers(0, 8, n),
        "lat": rng.uniform(40, 50, n).astype(np.float32),
        "lng": rng.uniform(0, 10, n).astype(np.float32),
        "term_length": (term_counts * 2).astype(np.float32),
    }
    skill_total, term_total = int(skill_counts.sum()), int(term_counts.sum())
    skills = (skill_counts, np.sort(rng.integers(0, 20_000, skill_total)), np.ones(skill_total))
    words = (term_counts, rng.integers(0, 2**31, term_total), np.ones(term_total))
    return FeatureColumns.from_arrays(dim, rows, skills, words)


def random_query(vector: np.ndarray, rng: np.random.Generator) -> QueryFeatures:
    """A job's side of a scoring call: its views, 15 skills, 200 words, a place."""
    return QueryFeatures(
        vector,
        vector,
        vector,
        np.arange(15, dtype=np.uint32),
        np.ones(15, dtype=np.float32),
        5.0,
        3,
        1,
        45.0,
        5.0,
        np.sort(rng.integers(0, 2**31, 200)).astype(np.uint32),
        np.ones(200, dtype=np.uint8),
        400.0,
        True,
    )


def unit_rows(rows: int, dim: int, device: str) -> np.ndarray:
    """Random unit vectors, drawn on the device (seconds for 10M rows, not minutes), as host fp32."""
    import torch

    generator = torch.Generator(device=device).manual_seed(0)
    host = np.empty((rows, dim), dtype=np.float32)
    for start in range(0, rows, 1_000_000):
        size = min(1_000_000, rows - start)
        chunk = torch.randn(size, dim, device=device, generator=generator)
        host[start : start + size] = torch.nn.functional.normalize(chunk, dim=1).cpu().numpy()
    return host


def load_run(score_one, rate: float, seconds: float, clients: int) -> dict[str, float]:
    """Requests at `rate` per second for `seconds`, open loop; latency from each planned send time."""
    count = max(1, int(rate * seconds))
    start = time.perf_counter() + 0.05
    latencies = np.empty(count)
    failures = []

    def send(i: int) -> None:
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            score_one(i)
        except Exception as error:  # noqa: BLE001 - counted and reported with the figures
            failures.append(repr(error))
        latencies[i] = time.perf_counter() - planned

    with ThreadPoolExecutor(max_workers=clients) as executor:
        list(executor.map(send, range(count)))
    elapsed = time.perf_counter() - start
    return {
        "rate_offered": rate,
        "requests": count,
        "achieved_per_s": round(count / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)) * 1000, 2),
        "p99_ms": round(float(np.percentile(latencies, 99)) * 1000, 2),
        "failures": len(failures),
        **({"first_failure": failures[0][:200]} if failures else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rates", type=float, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--depth", type=int, default=1000, help="candidates re-ranked per request (the server's)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")) / "gpu_serving.json")
    args = parser.parse_args()
    if args.smoke:
        os.environ["TRITON_INTERPRET"] = "1"
        args.rows, args.rates, args.seconds, args.depth = 2048, [4.0], 2.0, 50
    import torch  # after the interpreter switch

    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run with --smoke to check the script on a CPU")
    results: dict[str, object] = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu (interpreter)",
        "host_cores": os.cpu_count(),
        "rows": args.rows,
        "dim": args.dim,
        "depth": args.depth,
        "clients": CLIENTS,
    }
    began = time.perf_counter()
    vectors = unit_rows(args.rows, args.dim, device)
    columns = random_feature_columns(vectors, terms=(20, 60))
    index = VectorIndex(args.dim, ann_min_rows=2**62, accelerator=device)
    index.set(np.arange(args.rows), vectors)
    results["pool_build_s"] = round(time.perf_counter() - began, 1)
    rng = np.random.default_rng(1)
    anchors = vectors[rng.choice(args.rows, 256, replace=False)]
    queries = [random_query(anchor, rng) for anchor in anchors]
    filters = [RowFilter(), RowFilter(created_at_min_us=args.rows // 4, created_at_max_us=3 * args.rows // 4)]
    algorithm = base_algorithm()

    def score_one(i: int) -> None:
        snapshot = columns.snapshot()
        mask = row_mask(snapshot, filters[i % 2])
        found = index.search(anchors[i % len(anchors)], args.depth, mask)
        rerank(snapshot, queries[i % len(queries)], algorithm, found.rows, found.similarities, PAGE)

    accelerated = index._accelerated
    assert accelerated is not None
    for label, max_batch in (("one_launch_per_request", 1), ("shared_launches", accelerated.max_batch)):
        accelerated.max_batch = max_batch
        for _ in range(3):
            score_one(0)  # compiles the kernels for this batch size
        runs = []
        for rate in args.rates:
            launches = accelerated.launches
            run = load_run(score_one, rate, args.seconds, CLIENTS)
            run["mean_batch"] = round(run["requests"] / max(1, accelerated.launches - launches), 2)
            runs.append(run)
            print(label, json.dumps(run), flush=True)
        results[label] = runs
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
