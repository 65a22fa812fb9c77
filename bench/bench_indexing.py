"""Indexing throughput (profiles/s) against sentence-transformers' default encode, same model, same run.

Texts: the first 300 livecareer-dev resumes (real, median ~5,600 characters). Ours: the workspace's
indexing path (features, three view vectors through the dynamic batcher with long texts chunked rather
than truncated, SQLite commit, index and columns update), driven by 8 concurrent callers sending one
profile each (as API clients do) and by one caller sending batches of 50. Baseline: one call to
`SentenceTransformer.encode(texts)` with its defaults (batch 32, texts cut at 256 tokens, nothing stored).
The two do different amounts of work; the ratio says what a complete, durable indexing costs against
the bare model. Usage:

    .venv/bin/python -m bench.bench_indexing [--count 300]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.devdata import LIVECAREER
from cerebro_serve.cli import gate_policy, open_batcher
from cerebro_serve.engine import load_encoder
from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.services import Workspace
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.queries import PoolCreate
from cerebro_serve.settings import Settings
from cerebro_serve.store import SqlStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--precision", default="float32", help="of the model on our side (auto: what the server picks)")
    args = parser.parse_args()
    if not LIVECAREER.exists():
        raise SystemExit(f"{LIVECAREER} not found: this benchmark needs the development data in ../shared")
    csv.field_size_limit(1 << 30)
    with open(LIVECAREER, newline="", encoding="utf-8") as handle:
        texts = [row["Resume_text_pypdf"] for row in csv.DictReader(handle) if row["Resume_text_pypdf"].strip()]
    texts = texts[: args.count]
    baseline_encoder = load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "torch")
    default_lexicon()  # loaded once per server, not per record

    start = time.perf_counter()
    baseline_encoder._model.encode(texts)  # sentence-transformers, its defaults (fp32)
    baseline = len(texts) / (time.perf_counter() - start)
    encoder = load_encoder("all-MiniLM-L6-v2", "cpu", args.precision, "torch")

    settings = Settings()
    batcher = open_batcher(encoder, settings)
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        workspace = Workspace(
            SqlStore(f"sqlite:///{Path(directory) / 'bench.db'}"),
            batcher,
            Path(directory) / "indexes",
            new_key(),
            DocumentSandbox(timeout_seconds=settings.parse_timeout_seconds),
            embed_max_chars=settings.embed_max_chars,
            audit_retention_days=settings.audit_retention_days,
            release_gate=gate_policy(settings),
        )
        for label, run in (
            ("8 callers, 1 profile each", lambda source: _concurrent(workspace, source, texts)),
            ("1 caller, batches of 50", lambda source: _batched(workspace, source, texts)),
        ):
            source = workspace.pools.create(PROFILE, PoolCreate(name=label)).key
            start = time.perf_counter()
            run(source)
            results[label] = len(texts) / (time.perf_counter() - start)
        workspace.close()
    batcher.close()
    print(
        f"{len(texts)} livecareer resumes; all-MiniLM-L6-v2 on CPU ({os.cpu_count()} cores); "
        f"ours in {encoder.precision}"
    )
    print("| path | profiles/s | vs baseline |")
    print("|---|---|---|")
    print(f"| sentence-transformers encode, defaults (truncated, nothing stored) | {baseline:.1f} | 1.00x |")
    for label, rate in results.items():
        print(f"| cerebro indexing, {label} | {rate:.1f} | {rate / baseline:.2f}x |")
    print(
        f"batches formed: {batcher.stats.batches}, pieces: {batcher.stats.pieces}, requests: {batcher.stats.requests}"
    )


def _concurrent(workspace: Workspace, source: str, texts: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda text: workspace.records.index(PROFILE, source, [Profile(text=text)]), texts))


def _batched(workspace: Workspace, source: str, texts: list[str]) -> None:
    for start in range(0, len(texts), 50):
        workspace.records.index(PROFILE, source, [Profile(text=text) for text in texts[start : start + 50]])


if __name__ == "__main__":
    main()
