"""Indexing throughput (profiles/s) against sentence-transformers' default encode, same model, same run.

Texts: the first `--count` livecareer-dev resumes (real, median ~5,600 characters), indexed as text-only
profiles (`Profile(text=...)`). Ours: the workspace's indexing path (features, the view vectors through
the dynamic batcher, each view read as its head as the server reads it, SQLite commit, index and columns
update) by three callers: 8 concurrent callers sending one profile each (as API clients do; a 429 is
retried after its Retry-After, as a client would), one caller sending batches of 50, and the bulk import
(`cerebro-serve import`: `RecordImporter.import_lines` over JSON Lines, its worker processes preparing
features ahead of the encoder). Baseline: one call to `SentenceTransformer.encode(texts)` with its
defaults (PyTorch fp32, batch 32, texts cut at the model's max_seq_length: 256 tokens for MiniLM, 512 for
e5; nothing stored), timed before and after ours; ratios are against the mean of the two, since this VM's
speed drifts over minutes. A `--count` beyond the
resumes there cycles through them again (as new records). The two do different amounts of work; the
ratio says what a complete, durable indexing costs against the bare model. Each path has a batcher and
a store of its own. Tokens per profile: what the model read (a batcher observer counts every forward
pass). This process's CPU per profile (every thread of it, not the preparation workers): what the
importing process itself costs, which bounds a GPU node's import once the model and the workers keep up.
Usage:

    .venv/bin/python -m bench.bench_indexing [--count 300] [--backend torch|onnx] [--precision auto]
        [--device cpu|cuda] [--model DIR] [--paths callers,batches,import] [--import-workers N]
        [--forward-stand-in] [--store postgresql://USER@HOST:PORT/DATABASE]

`--store`: a PostgreSQL database each path stores into (in a schema of its own, dropped afterwards)
instead of a fresh SQLite file.

`--forward-stand-in` replaces our model's forward pass with nothing (its pieces are still tokenized as the
backend tokenizes them, in batches of 32; the vectors are random): what the pipeline around the model
costs, the ceiling a fast GPU would meet. The baseline still runs the real model.

`CEREBRO_*` variables (CEREBRO_BACKEND, CEREBRO_EMBED_MAX_CHARS, CEREBRO_BATCH_TOKENS...) apply as they
would to the server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer

from bench.devdata import LIVECAREER, livecareer_texts
from cerebro_serve.cli import gate_policy, open_batcher
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.batcher import BatchRun, QueueFull
from cerebro_serve.engine.models import resolve_model_dir
from cerebro_serve.objects import PROFILE, Profile
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.scoring.preparation import default_workers
from cerebro_serve.services import Workspace
from cerebro_serve.services.keys import new_key
from cerebro_serve.services.queries import PoolCreate
from cerebro_serve.settings import Settings
from cerebro_serve.store import SqlStore

PATHS = ("callers", "batches", "import")


class ForwardStandIn:
    """`encode_pieces` without the model: the pieces tokenized as the backend would (padded batches of 32,
    truncated to the window), then random unit vectors."""

    def __init__(self, model_dir: Path, dimension: int, window: int) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.dimension = dimension
        self.window = window
        self.random = np.random.default_rng(0)

    def __call__(self, pieces: Sequence[str]) -> np.ndarray:
        for start in range(0, len(pieces), 32):
            self.tokenizer(list(pieces[start : start + 32]), padding=True, truncation=True, max_length=self.window)
        vectors = self.random.standard_normal((len(pieces), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@dataclass(eq=False)  # observers are held in a weak set, by identity
class ModelWork:
    """What the model read, counted from the batcher's forward passes."""

    tokens: int = 0
    pieces: int = 0
    batches: int = 0
    seconds: float = 0.0

    def batch_ran(self, run: BatchRun) -> None:
        self.tokens += run.tokens
        self.pieces += run.pieces
        self.batches += 1
        self.seconds += run.seconds


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    settings = Settings.from_env()  # CEREBRO_* variables apply as they would to the server
    parser.add_argument("--backend", default=settings.backend, help="our encoder's runtime (default: the server's)")
    parser.add_argument("--precision", default=settings.precision, help="of our model (auto: what the server picks)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where both models run")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="bundled model name or local directory")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"which of ours to run, of {','.join(PATHS)}")
    parser.add_argument(
        "--import-workers", type=int, default=settings.import_workers, help="-1: as the server (every core but two)"
    )
    parser.add_argument(
        "--forward-stand-in", action="store_true", help="our model's forward pass replaced by nothing (see above)"
    )
    parser.add_argument("--store", help="a PostgreSQL URL (default: an SQLite file per path)")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    workers = default_workers() if args.import_workers < 0 else args.import_workers
    if not LIVECAREER.exists():
        raise SystemExit(f"{LIVECAREER} not found: this benchmark needs the development data in ../shared")
    texts = livecareer_texts()
    texts = [texts[number % len(texts)] for number in range(args.count)]
    baseline_model = SentenceTransformer(str(resolve_model_dir(args.model)[1]), device=args.device)
    encoder = load_encoder(args.model, args.device, args.precision, args.backend, settings.model_cache_dir)
    if args.forward_stand_in:
        model_dir = resolve_model_dir(args.model)[1]
        encoder.encode_pieces = ForwardStandIn(model_dir, encoder.dimension, baseline_model.max_seq_length)
    default_lexicon()  # loaded once per server, not per record
    baseline_model.encode(texts[:8])  # warm-up, as ours is warmed by its first batches

    def baseline() -> float:
        start = time.perf_counter()
        baseline_model.encode(texts)  # sentence-transformers, its defaults (fp32)
        return len(texts) / (time.perf_counter() - start)

    baselines = [baseline()]
    results: dict[str, tuple[float, ModelWork, int, float]] = {}
    labels = {
        "callers": "8 callers, 1 profile each",
        "batches": "1 caller, batches of 50",
        "import": f"bulk import (JSON Lines, {workers} preparation workers)",
    }
    paths: dict[str, Callable[[Workspace, str, Path], int]] = {
        labels["callers"]: lambda workspace, source, _: _concurrent(workspace, source, texts),
        labels["batches"]: lambda workspace, source, _: _batched(workspace, source, texts),
        labels["import"]: _imported,
    }
    paths = {labels[name]: paths[labels[name]] for name in args.paths.split(",")}
    for label, run in paths.items():
        # A batcher and a workspace of its own for each path: its observer counts that path's forward passes
        # only, and its pool starts empty.
        batcher = open_batcher(encoder, settings)
        work = ModelWork()
        batcher.observe(work)
        with tempfile.TemporaryDirectory() as directory:
            workspace = Workspace(
                SqlStore(schema_url(args.store) if args.store else f"sqlite:///{Path(directory) / 'bench.db'}"),
                batcher,
                Path(directory) / "indexes",
                new_key(),
                DocumentSandbox(timeout_seconds=settings.parse_timeout_seconds),
                embed_max_chars=settings.embed_max_chars,
                audit_retention_days=settings.audit_retention_days,
                release_gate=gate_policy(settings),
                training_worker=False,
                import_workers=workers,
            )
            lines = Path(directory) / "profiles.jsonl"
            lines.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts))
            source = workspace.pools.create(PROFILE, PoolCreate(name=label)).key
            start, cpu_start = time.perf_counter(), time.process_time()
            refused = run(workspace, source, lines)
            rate = len(texts) / (time.perf_counter() - start)
            results[label] = (rate, work, refused, (time.process_time() - cpu_start) * 1000 / len(texts))
            workspace.close()
        batcher.close()
        if args.store:
            drop_schemas(args.store)
    baselines.append(baseline())
    reference = sum(baselines) / 2
    machine = f"{cpu_name()} ({os.cpu_count()} cores)"
    if args.device == "cuda":
        import torch

        machine = f"{torch.cuda.get_device_name()}, host {machine}"
    print(
        f"{len(texts)} livecareer resumes; {args.model} on {machine}; ours: {args.backend}, {encoder.precision}, "
        f"each view read up to {settings.embed_max_chars:,} characters"
        + ("; OUR FORWARD PASS REPLACED BY NOTHING (--forward-stand-in)" if args.forward_stand_in else "")
    )
    print("| path | profiles/s | vs baseline | model tokens per profile | this process's CPU per profile |")
    print("|---|---|---|---|---|")
    window = baseline_model.max_seq_length
    print(
        f"| sentence-transformers `encode(texts)`, defaults (PyTorch fp32, batch 32, cut at {window} tokens, nothing "
        f"stored), before / after ours | {baselines[0]:.2f} / {baselines[1]:.2f} | 1.00x | at most {window} | |"
    )
    for label, (rate, work, refused, cpu_ms) in results.items():
        retried = f" ({refused} answers 429, retried)" if refused else ""
        print(
            f"| cerebro indexing, {label}{retried} | {rate:.2f} | {rate / reference:.2f}x | "
            f"{work.tokens / len(texts):.0f} ({work.pieces / len(texts):.1f} pieces in {work.batches} batches; "
            f"model {work.tokens / max(work.seconds, 1e-9):.0f} tokens/s) | {cpu_ms:.2f} ms |"
        )
    if args.out is not None:
        measured = {
            label: {
                "profiles_per_s": rate,
                "ratio": rate / reference,
                "tokens": work.tokens,
                "batches": work.batches,
                "process_cpu_ms_per_profile": cpu_ms,
            }
            for label, (rate, work, _, cpu_ms) in results.items()
        }
        summary = {
            "machine": machine,
            "forward_stand_in": args.forward_stand_in,
            "store": "postgresql" if args.store else "sqlite",
            "profiles": len(texts),
            "baseline_profiles_per_s": baselines,
            "ours": measured,
        }
        args.out.write_text(json.dumps(summary, indent=2))


SCHEMA_PREFIX = "cerebro_bench_indexing_"


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def schema_url(url: str) -> str:
    """`url` with a fresh schema of its own first on the search path."""
    schema = f"{SCHEMA_PREFIX}{secrets.token_hex(4)}"
    with _admin(url).begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    return f"{url}?options=-csearch_path%3D{schema}"


def drop_schemas(url: str) -> None:
    with _admin(url).begin() as connection:
        schemas = connection.execute(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"), {"prefix": f"{SCHEMA_PREFIX}%"}
        ).scalars()
        for schema in list(schemas):
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


def _concurrent(workspace: Workspace, source: str, texts: list[str]) -> int:
    """8 callers of one profile each; returns how many calls were refused for a full queue (and retried)."""
    refused = 0

    def index(text: str) -> None:
        nonlocal refused
        while True:
            try:
                workspace.records.index(PROFILE, source, [Profile(text=text)])
                return
            except QueueFull as full:
                refused += 1
                time.sleep(max(full.retry_after, 0.05))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(index, texts))
    return refused


def _batched(workspace: Workspace, source: str, texts: list[str]) -> int:
    for start in range(0, len(texts), 50):
        workspace.records.index(PROFILE, source, [Profile(text=text) for text in texts[start : start + 50]])
    return 0


def _imported(workspace: Workspace, source: str, lines: Path) -> int:
    """`cerebro-serve import`'s path over a JSON Lines file of the profiles."""
    summary = workspace.importer.import_lines(PROFILE, source, lines, lambda _: None)
    if summary.stored != sum(1 for _ in lines.open()):
        raise RuntimeError(f"the import stored {summary.stored} profiles, refused {summary.refused[:3]}")
    return 0


if __name__ == "__main__":
    main()
