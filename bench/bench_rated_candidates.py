"""What reading a job's rated candidates costs a scoring call (`services/rated_candidates.py`), against
the same call by an algorithm that does not read them, in one run.

A workspace on the real server's code (in-process HTTP through Litestar's test client; SQLite in a
temporary directory, or a fresh schema of a PostgreSQL database) holds livecareer resumes and one ESCO job,
rated by a recruiter on `--ratings` of the resumes (1.0 for the job's occupation group, else 0.0). A
published version weighs the rated candidates; `cerebro-base` is the baseline. Both score the job's pool
(`GET /v1/profiles/scoring`, a page of 10), interleaved, `--calls` times each; the version's calls read the
job's rated candidates, kept from the call before (two small reads check nothing changed), or, with a new
rating posted before the call (not timed), read again: the job's feedback, the rated profiles' consent and
their vectors; then every re-ranked candidate is compared with them.

Usage: .venv/bin/python -m bench.bench_rated_candidates [--store sqlite|postgresql] [--profiles 600]
       [--ratings 300] [--calls 40] [--model all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import platform
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from litestar.testing import TestClient

from bench.call_timings import WARM_UP_CALLS, print_table, timed_call
from bench.devdata import load_esco_jobs, load_livecareer
from cerebro_serve.api import create_app
from cerebro_serve.cli import build_workspace
from cerebro_serve.engine import load_encoder
from cerebro_serve.scoring.algorithms import FEATURES, RatedBy, base_algorithm
from cerebro_serve.services.keys import new_key
from cerebro_serve.settings import Settings
from cerebro_serve.store.connection import now_us
from cerebro_serve.store.learning import StoredTraining

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
WEIGHT = 2.4  # what the trainings of bench/bench_learning.py fitted on 300 ratings
KINDS = ("cerebro-base", "reading the ratings, kept from the last call", "reading the ratings after a new one")


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str | None]:
    """None (SQLite in the data directory), or a fresh PostgreSQL schema, dropped afterwards."""
    if kind == "sqlite":
        yield None
        return
    schema = f"cerebro_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def publish_reading_version(client: TestClient, workspace) -> str:
    """A fork whose version 2 weighs the rated candidates, as a training on ratings publishes it."""
    body = {"base": "cerebro-trainable", "name": "Reads ratings", "labeller_role": "recruiter"}
    key = client.post("/v1/algorithm", json=body).json()["data"]["key"]
    base = base_algorithm(workspace.encoder.name)
    weights = base.weights.copy()
    weights[FEATURES.index("rated_resemblance")] = WEIGHT
    trained = dataclasses.replace(
        base, weights=weights, bias=base.bias - WEIGHT * 0.5, rated_by=RatedBy("rating", "recruiter")
    )
    learning, now = workspace.store.learning, now_us()
    learning.add_training(StoredTraining("b" * 40, key, "running", "{}", 0.5, None, None, None, False, 0, "", now, now))
    assert learning.publish_version("b" * 40, key, now, trained.to_json(), "{}", "[]") == 2
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profiles", type=int, default=600)
    parser.add_argument("--ratings", type=int, default=300)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="the workspace's encoder")
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu", "float32", "torch")
    livecareer, esco = load_livecareer(encoder), load_esco_jobs(encoder)
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(livecareer.resumes.texts), size=args.profiles, replace=False)
    job = 0
    with tempfile.TemporaryDirectory() as directory, database(args.store, Path(directory)) as url:
        admin_key = new_key("all")
        settings = Settings(data_dir=Path(directory), database_url=url, api_key=admin_key, model=args.model)
        workspace, batcher = build_workspace(settings, training_worker=False)
        try:
            with TestClient(create_app(workspace, max_body_bytes=1 << 20)) as client:
                client.headers["X-API-KEY"] = admin_key
                source = client.post("/v1/source", json={"name": "Resumes"}).json()["data"]["key"]
                board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
                posted = {"name": "job", "summary": esco.jobs.texts[job], "reference": "job"}
                assert client.post("/v1/job/indexing", json={**posted, "board_key": board}).status_code == 201
                started = time.perf_counter()
                for index in chosen:
                    body = {"source_key": source, "reference": f"r{index}", "text": livecareer.resumes.texts[index]}
                    assert client.post("/v1/profile/indexing", json=body).status_code == 201
                indexed = time.perf_counter() - started
                for index in chosen[: args.ratings]:
                    good = livecareer.categories[index] == esco.categories[job]
                    rating = {"source_key": source, "board_key": board, "profile_reference": f"r{index}"}
                    rating |= {"job_reference": "job", "role": "recruiter", "score": float(good)}
                    assert client.post("/v1/rating", json=rating).status_code == 201
                key = publish_reading_version(client, workspace)
                params = {"source_keys": json.dumps([source]), "board_key": board, "job_reference": "job", "limit": 10}
                timings: dict[str, list[float]] = {name: [] for name in KINDS}
                rerated = chosen[: args.ratings]
                for call in range(args.calls + WARM_UP_CALLS):
                    for name in KINDS:
                        if name == KINDS[2]:  # a rating arrives between calls: what was read is read again
                            index = rerated[call % len(rerated)]
                            rating = {"source_key": source, "board_key": board, "profile_reference": f"r{index}"}
                            rating |= {"job_reference": "job", "role": "recruiter", "score": float(call % 2)}
                            assert client.post("/v1/rating", json=rating).status_code == 201
                        scored = params | {"algorithm_key": "cerebro-base" if name == KINDS[0] else key}
                        timed_call(lambda: client.get("/v1/profiles/scoring", params=scored), timings[name], call)
        finally:
            workspace.close()
            batcher.close()
    print(f"{platform.machine()}, {args.store}; {args.profiles} profiles indexed in {indexed:.0f} s; job rated on")
    print(f"{args.ratings} of them; {args.calls} calls each, interleaved, page of 10")
    print_table("call", timings)


if __name__ == "__main__":
    main()
