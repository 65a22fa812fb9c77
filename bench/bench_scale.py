"""Scoring latency, throughput and memory over pools of 10k, 100k and 1M profiles, against a naive baseline.

Pools. Encoding a million resumes would take days on this machine, so pools are grown from real embedded
records: the 2,000 rjdb resumes and 1,237 livecareer resumes, parsed and embedded by our own pipeline
(bench/devdata.py). Each synthetic profile copies one of them with realistic perturbations: every view
vector gets Gaussian noise (cosine ~0.93 to its source) and is re-normalised; 25% of its skills and 15%
of its words are dropped; years of experience are scaled by U(0.7, 1.3); 80% get one of 40 cities (with
a `city` tag), the rest no location. Jobs are the 1,000 rjdb job descriptions (features and vectors real).

Measured, for each size, in one run:
- engine: the in-process scoring core (row mask, vector search for 1,000 candidates, native fused
  re-ranking, top 10), without and with filters (2 of 40 cities + a date range); IVF recall against exact.
- http: `GET /v1/profiles/scoring` on the real server (`cerebro-serve serve`, SQLite store holding every
  profile, index loaded from disk) against the naive baseline behind a plain ASGI app
  (bench/naive_server.py: sentence-transformers encode at request time + numpy dot over every vector +
  full argsort), both under uvicorn, one worker; sequential latency and 8-client throughput.
- memory: the server's resident memory once the pool is loaded, per profile.

Usage: .venv/bin/python -m bench.bench_scale [--sizes 10000 100000 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import numpy as np
import sqlalchemy as sa

from bench.devdata import Rjdb, Side, load_livecareer, load_rjdb
from bench.server_timing import stages
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.models import resolve_model_dir
from cerebro_serve.engine.views import vectors_tag
from cerebro_serve.index.columns import SIDE_VIEWS, FeatureColumns, quantize_rows
from cerebro_serve.index.filters import RowFilter, row_mask
from cerebro_serve.index.registry import PoolIndex, model_directory
from cerebro_serve.index.vector_index import ANN_MIN_ROWS, VectorIndex
from cerebro_serve.objects import Info, Profile
from cerebro_serve.record_features import UNKNOWN
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, rerank
from cerebro_serve.services.ranking import RERANK_DEPTH
from cerebro_serve.store import RecordContent, SqlStore, TagClause
from cerebro_serve.store.schema import pools, records

NOISE = 0.02  # per dimension: noise norm ~0.39 on a unit vector, cosine ~0.93 to the source
CITIES = 40
CHUNK = 100_000
PAGE = 10
CLIENTS = 8


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


# -- pools -----------------------------------------------------------------------------------------


def _lists(features: list, ids: str, values: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = np.array([len(getattr(f, ids)) for f in features], dtype=np.int64)
    return (
        counts,
        np.array([i for f in features for i in getattr(f, ids)], dtype=np.int64),
        np.array([v for f in features for v in getattr(f, values)], dtype=np.float64),
    )


def _perturbed_lists(
    base: tuple[np.ndarray, np.ndarray, np.ndarray], sources: np.ndarray, drop: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts, ids, values = base
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    owner = np.repeat(np.arange(len(sources)), counts[sources])
    offsets = np.arange(len(owner)) - np.repeat(np.cumsum(counts[sources]) - counts[sources], counts[sources])
    positions = np.repeat(starts[sources], counts[sources]) + offsets
    keep = rng.random(len(positions)) >= drop
    return np.bincount(owner[keep], minlength=len(sources)), ids[positions[keep]], values[positions[keep]]


def _noisy(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = vectors + rng.normal(0.0, NOISE, size=vectors.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def grown_from(encoder, base: str = "all") -> tuple[Rjdb, Side]:
    """The rjdb data (its jobs are the queries) and the 3,237 real resumes pools are grown from (`rjdb`:
    its 2,000 resumes only, when the livecareer resumes' embeddings are not cached in bench/.cache)."""
    rjdb = load_rjdb(encoder)
    if base == "rjdb":
        return rjdb, rjdb.resumes
    livecareer = load_livecareer(encoder)
    base = Side(
        rjdb.resumes.texts + livecareer.resumes.texts,
        rjdb.resumes.features + livecareer.resumes.features,
        np.concatenate([rjdb.resumes.vectors, livecareer.resumes.vectors]),
    )
    return rjdb, base


def synthetic_pool(
    base: Side,
    n: int,
    seed: int = 0,
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
    ann_min_rows: int = ANN_MIN_ROWS,
) -> tuple[PoolIndex, np.ndarray, np.ndarray]:
    """A pool of n profiles grown from the base records (see the module docstring); record ids 1..n. Also
    returns each row's vectors and the base record it was grown from. `keep`: which of them to keep, by
    record id (a shard of the pool: the same records as in the whole one)."""
    rng = np.random.default_rng(seed)
    dim = base.vectors.shape[2]
    features = base.features
    skills, terms = _lists(features, "skill_ids", "skill_weights"), _lists(features, "terms", "term_freqs")
    years = np.array([f.years for f in features], dtype=np.float32)
    present = np.abs(base.vectors[:, 1:]).max(axis=2) > 0  # (records, SIDE_VIEWS): which views are not empty
    city_points = np.column_stack([rng.uniform(36, 60, CITIES), rng.uniform(-9, 25, CITIES)]).astype(np.float32)
    vectors = np.empty((n, dim), dtype=np.float32)
    parts: dict[str, list[np.ndarray]] = {
        name: []
        for name in (
            *SIDE_VIEWS,
            *(f"{view}_scale" for view in SIDE_VIEWS),
            "years",
            "education",
            "languages",
            "lat",
            "lng",
            "term_length",
            "city",
        )
    }
    skill_parts, term_parts, origins = [], [], []
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        sources = rng.integers(0, len(features), size)
        origins.append(sources)
        vectors[start : start + size] = _noisy(base.vectors[sources, 0], rng)
        for position, view in enumerate(SIDE_VIEWS, start=1):
            noisy = _noisy(base.vectors[sources, position], rng) * present[sources, position - 1, None]
            codes, scales = quantize_rows(noisy)
            parts[view].append(codes)
            parts[f"{view}_scale"].append(scales)
        scaled = years[sources] * rng.uniform(0.7, 1.3, size).astype(np.float32)
        parts["years"].append(np.where(years[sources] >= 0, scaled, UNKNOWN))
        parts["education"].append(np.array([features[s].education for s in sources], dtype=np.int8))
        parts["languages"].append(np.array([features[s].languages for s in sources], dtype=np.int64))
        city = np.where(rng.random(size) < 0.8, rng.integers(0, CITIES, size), -1)
        parts["city"].append(city)
        parts["lat"].append(np.where(city >= 0, city_points[city, 0], np.nan).astype(np.float32))
        parts["lng"].append(np.where(city >= 0, city_points[city, 1], np.nan).astype(np.float32))
        parts["term_length"].append(np.array([features[s].length for s in sources], dtype=np.float32))
        skill_parts.append(_perturbed_lists(skills, sources, 0.25, rng))
        term_parts.append(_perturbed_lists(terms, sources, 0.15, rng))
    rows = {name: np.concatenate(values) for name, values in parts.items() if name != "city"}
    rows.update(
        record_ids=np.arange(1, n + 1, dtype=np.int64),
        alive=np.ones(n, dtype=bool),
        created_at_us=np.arange(n, dtype=np.int64) * 1_000_000,
        updated_at_us=np.arange(n, dtype=np.int64),
    )
    city = np.concatenate(parts["city"])
    skill_lists = tuple(np.concatenate([p[i] for p in skill_parts]) for i in range(3))
    term_lists = tuple(np.concatenate([p[i] for p in term_parts]) for i in range(3))
    origin = np.concatenate(origins)
    if keep is not None:
        kept = keep(rows["record_ids"])
        rows = {name: values[kept] for name, values in rows.items()}
        skill_lists, term_lists = _kept_lists(skill_lists, kept), _kept_lists(term_lists, kept)
        city, vectors, origin, n = city[kept], vectors[kept], origin[kept], int(np.count_nonzero(kept))
    tags = {("city", f"city-{c}"): np.flatnonzero(city == c) for c in range(CITIES)}
    columns = FeatureColumns.from_arrays(dim, rows, skill_lists, term_lists, tags)
    index = VectorIndex(dim, ann_min_rows=ann_min_rows)
    index.set(np.arange(n), vectors)
    index.maintain()
    return PoolIndex(index, columns), vectors, origin


def _kept_lists(lists: tuple[np.ndarray, ...], kept: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, ids, values) lists packed in row order, of the kept rows only."""
    counts, ids, values = lists
    owners = np.repeat(np.arange(len(counts)), counts)
    entries = kept[owners]
    return counts[kept], ids[entries], values[entries]


# -- engine ----------------------------------------------------------------------------------------


def engine_run(
    pool: PoolIndex, queries: list[QueryFeatures], anchors: np.ndarray, row_filter: RowFilter, exact: bool = False
) -> tuple[list[float], list[np.ndarray]]:
    algorithm = base_algorithm()
    timings, tops = [], []
    for query, anchor in zip(queries, anchors):
        t0 = time.perf_counter()
        columns = pool.columns.snapshot()
        mask = row_mask(columns, row_filter)
        if exact:
            sims = pool.vectors.matrix[: columns.rows] @ anchor
            sims[~mask] = -np.inf
            rows = np.argsort(-sims)[:RERANK_DEPTH]
            found_rows, found_sims = rows, sims[rows]
        else:
            found = pool.vectors.search(anchor, RERANK_DEPTH, mask)
            found_rows, found_sims = found.rows, found.similarities
        ranked = rerank(columns, query, algorithm, found_rows, found_sims, PAGE)
        tops.append(columns.record_ids[found_rows[ranked.positions]])
        timings.append(time.perf_counter() - t0)
    return timings, tops


# -- http ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, headers: dict[str, str], process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, headers=headers, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def write_workspace(
    directory: Path, pool: PoolIndex, n: int, data, jobs: np.ndarray, model: str
) -> tuple[str, str, list[str]]:
    """A data dir the real server opens as is: the store holds every profile (small bodies) and the jobs
    (real vectors and features); the pool's index files carry the store's revision, so they load as is."""
    store = SqlStore(f"sqlite:///{directory / 'cerebro.db'}")
    model = vectors_tag(model)  # what the server labels vectors read its way
    source, board = "a" * 40, "b" * 40
    store.pools.create_pool("source", source, "bench profiles", None)
    store.pools.create_pool("board", board, "bench jobs", None)
    with store.engine.begin() as connection:
        for start in range(0, n, 50_000):
            batch = [
                {
                    "kind": "profile",
                    "key": f"{i:040x}",
                    "pool_key": source,
                    "search_text": "",
                    "name": None,
                    "created_at_us": i * 1_000_000,
                    "updated_at_us": i,
                    "body": msgspec.json.encode(Profile(info=Info(full_name=f"Profile {i}"))),
                    "model": model,
                    "embedding": b"",
                    "features": None,
                }
                for i in range(start + 1, min(n, start + 50_000) + 1)
            ]
            connection.execute(records.insert(), batch)
        connection.execute(pools.update().where(pools.c.key == source).values(revision=7))
        top = connection.execute(sa.select(sa.func.max(records.c.id))).scalar()
    assert top == n, "record ids must be 1..n to match the pool's rows"
    pool.vectors.revision = 7
    index_dir = model_directory(directory / "indexes", model)
    index_dir.mkdir(parents=True, exist_ok=True)
    pool.save(index_dir / source)  # published as the generation the server maps (index/snapshots.py)
    job_keys = []
    for job in jobs:
        key = f"c{int(job):039x}"
        features = data.jobs.features[job]
        store.records.insert_record(
            kind="job",
            key=key,
            pool_key=board,
            created_at_us=int(job),
            content=RecordContent(
                reference=None,
                email=None,
                name="job",
                search_text="",
                body=b'{"name": "job"}',
                model=model,
                embedding=data.jobs.vectors[job],
                features=features.encode(),
            ),
        )
        job_keys.append(key)
    store.close()
    return source, board, job_keys


def http_run(urls: list[str], headers: dict[str, str], clients: int) -> tuple[list[float], float, list[str]]:
    """Seconds per request, requests per second, and each answer's Server-Timing header ("" without)."""
    timings: list[str] = []

    def one(client: httpx.Client, url: str) -> float:
        t0 = time.perf_counter()
        response = client.get(url, headers=headers, timeout=120)
        response.raise_for_status()
        timings.append(response.headers.get("server-timing", ""))
        return time.perf_counter() - t0

    if clients == 1:
        with httpx.Client() as client:
            start = time.perf_counter()
            samples = [one(client, url) for url in urls]
            return samples, len(urls) / (time.perf_counter() - start), timings
    with ThreadPoolExecutor(clients) as executor, httpx.Client(limits=httpx.Limits(max_connections=clients)) as client:
        start = time.perf_counter()
        samples = list(executor.map(lambda url: one(client, url), urls))
        return samples, len(urls) / (time.perf_counter() - start), timings


def serve(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def bench_http(
    directory: Path,
    pool: PoolIndex,
    vectors: np.ndarray,
    n: int,
    data,
    jobs: np.ndarray,
    model: str,
    model_dir: Path,
) -> dict[str, object]:
    source, board, job_keys = write_workspace(directory, pool, n, data, jobs, model)
    results: dict[str, object] = {}
    key = "ask_" + "0" * 32
    port = free_port()
    ours = serve(
        [sys.executable, "-m", "cerebro_serve", "serve", "--data-dir", str(directory), "--port", str(port)],
        {"CEREBRO_API_KEY": key, "CEREBRO_DEVICE": "cpu"},
        directory / "ours.log",
    )
    headers = {"X-API-KEY": key}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/v1/sources", headers, ours)
        idle = rss_mb(ours.pid)
        urls = [
            f"{base}/v1/profiles/scoring?source_keys=%5B%22{source}%22%5D&board_key={board}&job_key={k}"
            f"&sort_by=scoring&limit={PAGE}"
            for k in job_keys
        ]
        t0 = time.perf_counter()
        http_run(urls[:1], headers, 1)  # loads the pool's index from disk
        results["ours_load_s"] = time.perf_counter() - t0
        http_run(urls[:20], headers, 1)
        results["ours_rss_mb"] = rss_mb(ours.pid)
        results["ours_bytes_per_profile"] = (results["ours_rss_mb"] - idle) * 2**20 / n
        samples, _, timings = http_run(urls, headers, 1)
        results["ours_latency"] = percentiles(samples)
        results["ours_stages"] = stages([(1000 * seconds, header) for seconds, header in zip(samples, timings)])
        _, results["ours_throughput"], _ = http_run(urls * 2, headers, CLIENTS)
    finally:
        ours.terminate()
        ours.wait()
    np.save(directory / "naive.npy", vectors)
    (directory / "naive.json").write_text(json.dumps([data.jobs.texts[j] for j in jobs]))
    port = free_port()
    naive = serve(
        [sys.executable, "-m", "uvicorn", "bench.naive_server:app", "--port", str(port), "--log-level", "warning"],
        {
            "NAIVE_MATRIX": str(directory / "naive.npy"),
            "NAIVE_JOBS": str(directory / "naive.json"),
            "NAIVE_MODEL": str(model_dir),
            "HF_HUB_OFFLINE": "1",
        },
        directory / "naive.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/?job=0", {}, naive)
        urls = [f"{base}/?job={i}" for i in range(len(jobs))]
        http_run(urls[:20], {}, 1)
        results["naive_rss_mb"] = rss_mb(naive.pid)
        samples, _, _ = http_run(urls, {}, 1)
        results["naive_latency"] = percentiles(samples)
        _, results["naive_throughput"], _ = http_run(urls[: max(50, len(urls) // 2)], {}, CLIENTS)
    finally:
        naive.terminate()
        naive.wait()
    return results


def _rounded(value: object) -> object:
    if isinstance(value, tuple):
        return [round(x, 2) for x in value]
    return round(value, 2) if isinstance(value, float) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--base", choices=["all", "rjdb"], default="all", help="rjdb: grow from its 2,000 resumes")
    args = parser.parse_args()
    encoder = load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch")
    rjdb, base = grown_from(encoder, args.base)
    jobs = rjdb.split(1)[: args.queries]
    queries = [QueryFeatures.of(rjdb.jobs.features[j], rjdb.jobs.vectors[j], is_job=True) for j in jobs]
    anchors = rjdb.jobs.vectors[jobs, 0]
    two_cities = tuple(TagClause("city", f"city-{c}") for c in range(2))
    filtered = RowFilter(tags_included=(two_cities,), created_at_min_us=0, created_at_max_us=10**18)
    model_dir = resolve_model_dir(encoder.name)[1]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(base.texts)} base records; "
        f"{len(jobs)} queries; page {PAGE}; re-rank depth {RERANK_DEPTH}; IVF from {ANN_MIN_ROWS:,} rows"
    )
    for n in args.sizes:
        before = rss_mb(os.getpid())
        t0 = time.perf_counter()
        pool, vectors, _ = synthetic_pool(base, n)
        build = time.perf_counter() - t0
        built = rss_mb(os.getpid())
        timings, tops = engine_run(pool, queries, anchors, RowFilter())
        filtered_timings, _ = engine_run(pool, queries, anchors, filtered)
        line = {
            "n": n,
            "build_s": round(build, 1),
            "approximate": pool.vectors.approximate,
            "engine_p50_p99_ms": [round(v, 2) for v in percentiles(timings)],
            "engine_filtered_p50_p99_ms": [round(v, 2) for v in percentiles(filtered_timings)],
            "build_rss_bytes_per_profile": round((built - before) * 2**20 / n),
        }
        if pool.vectors.approximate:
            exact_timings, exact_tops = engine_run(pool, queries, anchors, RowFilter(), exact=True)
            line["top10_recall_vs_exact"] = round(
                float(np.mean([len(set(a.tolist()) & set(b.tolist())) / PAGE for a, b in zip(tops, exact_tops)])), 3
            )
            line["exact_engine_p50_p99_ms"] = [round(v, 2) for v in percentiles(exact_timings)]
        if not args.no_http:
            with tempfile.TemporaryDirectory(dir="/var/tmp") as directory:
                http = bench_http(Path(directory), pool, vectors, n, rjdb, jobs, encoder.name, model_dir)
            line.update({k: _rounded(v) for k, v in http.items()})
        print(json.dumps(line), flush=True)
        del pool, vectors


if __name__ == "__main__":
    main()
