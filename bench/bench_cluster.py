"""What the hop to shards on Ray costs: scoring a 100k-profile pool in this process, and in 1 and 2 shards
held by Ray actors on a local cluster, same pool, same queries, one run.

The pool is grown from the rjdb resumes as in bench/bench_scale.py (its record ids 1..n); a shard holds
the records whose id hashes to it (`index.shards`), its index files published where its actor maps them
(no rebuild). Queries: the rjdb jobs as anchors (their real vectors and features), cerebro-base, page of
10, re-rank depth 1,000, sequential, each answer merged as the front end merges it
(`cluster.shard_ranking.merge`, then the page by score). Compared:
- one node: a `ShardServer` holding the whole pool, called in this process (row mask, IVF, native
  re-rank: what a single server runs, less HTTP);
- Ray, 1 shard: the same, in one actor (`RayShards`): the hop alone (request out, hits back, the pool's
  statistics passed by reference);
- Ray, 2 shards: the pool split in two actors, asked at once, merged; at 100k each shard holds ~50k rows,
  under the rows from which a pool is searched through an IVF (`ANN_MIN_ROWS`), so also with shards
  that search an IVF from a quarter of the pool.
Also: how often the top 10 equals one node's (each shard's IVF probes its own lists, so the first stage's
approximation differs; exact first stages give equal answers, tests/test_ray_shards.py). Usage:

    .venv/bin/python -m bench.bench_cluster [--size 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import ray

from bench.bench_indexing import cpu_name
from bench.bench_scale import grown_from, percentiles, synthetic_pool, write_workspace
from cerebro_serve.cluster.pool_shards import ShardServer
from cerebro_serve.cluster.ray_shards import RayShards
from cerebro_serve.cluster.shard_ranking import ShardHits, ShardRequest, merge
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.index.filters import RowFilter
from cerebro_serve.index.registry import model_directory, pool_directory_name
from cerebro_serve.index.shards import Shard
from cerebro_serve.index.vector_index import ANN_MIN_ROWS
from cerebro_serve.record_features import REFUSES_EMBEDDING
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.scoring.rerank import QueryFeatures
from cerebro_serve.services.ranking import NOT_SCORABLE, RERANK_DEPTH
from cerebro_serve.store.sharding import shard_numbers

PAGE = 10
WARM_UP = 20
RESULTS = Path(__file__).resolve().parent / "results" / "cluster-hop.jsonl"


def page_of(parts: list[ShardHits]) -> np.ndarray:
    """The page's record ids, as the front end orders a merged answer."""
    found = merge(parts, RERANK_DEPTH)
    assert found.scores is not None
    return found.record_ids[np.lexsort((found.record_ids, -found.scores))[:PAGE]]


def timed(answer, requests: list[ShardRequest]) -> tuple[list[float], list[np.ndarray]]:
    for request in requests[:WARM_UP]:
        answer(request)
    seconds, pages = [], []
    for request in requests:
        start = time.perf_counter()
        pages.append(answer(request))
        seconds.append(time.perf_counter() - start)
    return seconds, pages


def write_shards(base, size: int, pool_key: str, directory: Path, count: int, ann_min_rows: int) -> None:
    """Each shard's part of the pool, as index files its `ShardServer` maps (at the store's revision)."""
    for number in range(count):
        shard = Shard(number, count)
        part, _, _ = synthetic_pool(
            base, size, keep=lambda ids: shard_numbers(ids, shard.count) == shard.number, ann_min_rows=ann_min_rows
        )
        part.vectors.revision = 7  # the store's revision (write_workspace)
        part.save(directory / pool_directory_name(pool_key, shard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    encoder = load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch", None)
    data, base = grown_from(encoder, "rjdb")
    algorithm = base_algorithm()
    jobs = np.arange(min(args.queries, len(data.jobs.features)))
    requests = [
        ShardRequest(
            algorithm.adapt(data.jobs.vectors[job][0], is_job=True),
            RowFilter(refused=NOT_SCORABLE | REFUSES_EMBEDDING),
            RERANK_DEPTH,
            QueryFeatures.of(data.jobs.features[job], data.jobs.vectors[job], is_job=True),
            algorithm,
        )
        for job in jobs
    ]
    model = vectors_tag(encoder.name)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        pool, _, _ = synthetic_pool(base, args.size)
        source, _, _ = write_workspace(data_dir, pool, args.size, data, jobs, encoder.name)
        store_url = f"sqlite:///{data_dir / 'cerebro.db'}"
        ivf_from = min(ANN_MIN_ROWS, args.size // 4)
        layouts = {  # label: (shards, rows from which a shard searches an IVF)
            "one node, in process": (1, ANN_MIN_ROWS),
            "Ray, 1 shard": (1, ANN_MIN_ROWS),
            f"Ray, 2 shards (IVF from {ANN_MIN_ROWS:,} rows, as served)": (2, ANN_MIN_ROWS),
            f"Ray, 2 shards (IVF from {ivf_from:,} rows)": (2, ivf_from),
        }
        reference: list[np.ndarray] = []
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        try:
            for number, (label, (count, ann_min_rows)) in enumerate(layouts.items()):
                index_dir = data_dir / f"indexes-{number}"
                write_shards(base, args.size, source, model_directory(index_dir, model), count, ann_min_rows)
                if not reference:
                    one_node = ShardServer(store_url, model, encoder.dimension, Shard(0, 1), index_dir)
                    seconds, reference = timed(lambda request: page_of([one_node.rank(source, request)]), requests)
                    pages = reference
                    one_node.close()
                else:
                    shards = RayShards(store_url, model, encoder.dimension, count, 1, 30.0, index_dir, ann_min_rows)
                    seconds, pages = timed(lambda request, s=shards: page_of(s.rank(source, request)), requests)
                    shards.shutdown()
                same = np.mean([np.array_equal(page, ours) for page, ours in zip(pages, reference)])
                rows[label] = {"p50_p99_ms": percentiles(seconds), "same_top10": float(same)}
        finally:
            ray.shutdown()
    machine = f"{cpu_name()} ({os.cpu_count()} cores)"
    print(f"{args.size:,} profiles (rjdb-grown), {len(requests)} rjdb jobs, sequential; {machine}")
    print("| answered by | p50 ms | p99 ms | top 10 equal to one node's |")
    print("|---|---|---|---|")
    for label, row in rows.items():
        p50, p99 = row["p50_p99_ms"]
        print(f"| {label} | {p50:.2f} | {p99:.2f} | {row['same_top10']:.0%} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as results:
        line = {"size": args.size, "queries": len(requests), "machine": machine, "rows": rows}
        results.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
