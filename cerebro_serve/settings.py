"""Every setting, declared once: its type, default, environment variable and meaning.

Command-line flags win over `CEREBRO_*` environment variables, which win over the defaults below. The
parsing of the environment is derived from these declarations, and the components below take their
values from a Settings (the CLI wires them); none of them keeps a default of its own for these.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def setting(default: Any, env: str, doc: str, choices: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, "choices": choices})


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = setting(
        Path(".cerebro"), "CEREBRO_DATA_DIR", "store (SQLite), indexes and the generated admin key"
    )
    database_url: str | None = setting(
        None, "CEREBRO_DATABASE_URL", "`postgresql://user@host:5432/db` for PostgreSQL; unset: SQLite in the data dir"
    )
    api_key: str | None = setting(
        None, "CEREBRO_API_KEY", "admin key, `ask_` + 32 hex; unset: generated on first start, kept in the data dir"
    )
    model: str | None = setting(
        None,
        "CEREBRO_MODEL",
        "`multilingual-e5-small` (~100 languages), `all-MiniLM-L6-v2` (English), `use-multilingual-v3`"
        " (16 languages) or a local model directory; unset: the model the workspace's records were embedded"
        " with, else multilingual-e5-small",
    )
    device: str = setting("auto", "CEREBRO_DEVICE", "where the encoder runs", ("auto", "cpu", "cuda"))
    precision: str = setting(
        "auto",
        "CEREBRO_PRECISION",
        "model weights; auto: bf16 where the hardware has it, fp16 on other GPUs, else fp32",
        ("auto", "float32", "bfloat16", "float16"),
    )
    backend: str = setting("torch", "CEREBRO_BACKEND", "the encoder's runtime", ("torch", "onnx", "vllm"))
    host: str = setting("127.0.0.1", "CEREBRO_HOST", "address to listen on")
    port: int = setting(8000, "CEREBRO_PORT", "port to listen on")
    max_body_bytes: int = setting(
        10 * 1024 * 1024, "CEREBRO_MAX_BODY_BYTES", "larger request bodies (and uploaded files) get a 413"
    )
    parse_timeout_seconds: float = setting(
        30.0, "CEREBRO_PARSE_TIMEOUT_SECONDS", "time one file may take to read (OCR included)"
    )
    embed_max_chars: int = setting(
        20_000,
        "CEREBRO_EMBED_MAX_CHARS",
        "characters of each view the encoder considers (it embeds their first window); all count for keywords",
    )
    batch_tokens: int = setting(16_384, "CEREBRO_BATCH_TOKENS", "token budget of one encoder batch")
    batch_wait_ms: float = setting(5.0, "CEREBRO_BATCH_WAIT_MS", "longest a request waits for its batch to fill")
    max_pending: int = setting(
        1_024, "CEREBRO_MAX_PENDING", "requests waiting for the encoder before new ones get a 429"
    )
    max_queue_seconds: float = setting(
        10.0,
        "CEREBRO_MAX_QUEUE_SECONDS",
        "work queued for the encoder, in seconds at its measured speed, past which new requests get a 429",
    )
    max_active_requests: int = setting(
        16,
        "CEREBRO_MAX_ACTIVE_REQUESTS",
        "API requests one process works on at once; the next ones wait in line (0: no limit)",
    )
    max_waiting_requests: int = setting(
        256, "CEREBRO_MAX_WAITING_REQUESTS", "API requests waiting in line before new ones get a 429 at once"
    )
    max_request_wait_ms: float = setting(
        500.0, "CEREBRO_MAX_REQUEST_WAIT_MS", "how long an API request waits in line before it gets a 429"
    )
    request_threads: int = setting(
        1,
        "CEREBRO_REQUEST_THREADS",
        "threads the native libraries (FAISS, BLAS) use in one request; the encoder and index builds use every core",
    )
    malloc_arenas: int = setting(
        0,
        "CEREBRO_MALLOC_ARENAS",
        "glibc malloc arenas the server's threads share (0: glibc's default, 8 per core; MALLOC_ARENA_MAX wins)",
    )
    encoder_nice: int = setting(
        10,
        "CEREBRO_ENCODER_NICE",
        "how much lower the encoder's CPU priority is than the requests' (Linux nice; 0: the same)",
    )
    switch_interval_ms: float = setting(
        5.0,
        "CEREBRO_SWITCH_INTERVAL_MS",
        "how long one thread may keep Python's GIL while others wait for it (sys.setswitchinterval)",
    )
    drain_seconds: int = setting(
        20,
        "CEREBRO_DRAIN_SECONDS",
        "on SIGTERM, how long requests in flight may take to finish (then they are cancelled) before the "
        "indexes are saved; keep it under the orchestrator's grace period (Kubernetes: 30 s)",
    )
    training_worker: str = setting(
        "thread",
        "CEREBRO_TRAINING_WORKER",
        "thread: trainings run inside the server; external: `cerebro-serve worker` runs them",
        ("thread", "external"),
    )
    workers: int = setting(
        1,
        "CEREBRO_WORKERS",
        "server processes on one port; they share the pools' index files (memory-mapped) and the store",
    )
    import_workers: int = setting(
        -1,
        "CEREBRO_IMPORT_WORKERS",
        "processes computing records' features ahead of the encoder in `cerebro-serve import`; -1: every core but two",
    )
    index_sync_seconds: float = setting(
        1.0,
        "CEREBRO_INDEX_SYNC_SECONDS",
        "how often a process applies the writes other processes made (the bound on seeing one)",
    )
    index_snapshot_changes: int = setting(
        5_000,
        "CEREBRO_INDEX_SNAPSHOT_CHANGES",
        "writes after which a pool's index files are published again (each process holds them privately till then)",
    )
    cluster: str | None = setting(
        None,
        "CEREBRO_CLUSTER",
        "a Ray cluster's address: pools are ranked in shards on its nodes (needs PostgreSQL); unset: in this process",
    )
    shards: int = setting(4, "CEREBRO_SHARDS", "shards each pool is split into across the cluster")
    shard_replicas: int = setting(
        2, "CEREBRO_SHARD_REPLICAS", "copies of each shard, each on another node of the cluster"
    )
    log_format: str = setting(
        "text", "CEREBRO_LOG_FORMAT", "log lines as text, or as one JSON object a line", ("text", "json")
    )
    audit_retention_days: int = setting(
        183, "CEREBRO_AUDIT_RETENTION_DAYS", "how long the audit trail keeps each request's event (6 months)"
    )
    gate_min_impact_ratio: float = setting(
        0.8,
        "CEREBRO_GATE_MIN_IMPACT_RATIO",
        "a trained version whose impact ratio on any protected attribute is under this is held for review",
    )
    gate_max_drop: float = setting(
        0.1,
        "CEREBRO_GATE_MAX_DROP",
        "a trained version whose impact ratio fell more than this from the serving version's is held for review",
    )

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            value, choices = getattr(self, spec.name), spec.metadata["choices"]
            if choices and value not in choices:
                raise ValueError(f"{spec.metadata['env']} must be one of {', '.join(choices)}, not {value!r}")
        if self.cluster and not (self.database_url or "").startswith("postgresql"):
            raise ValueError(
                "CEREBRO_CLUSTER needs CEREBRO_DATABASE_URL (PostgreSQL): every node's shards rebuild from the store"
            )
        if self.shards < 1 or self.shard_replicas < 1:
            raise ValueError("CEREBRO_SHARDS and CEREBRO_SHARD_REPLICAS must be at least 1")

    @classmethod
    def from_env(cls, environ: typing.Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by the environment, overridden by `overrides` (flags) that are not None."""
        environ = os.environ if environ is None else environ
        types = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            raw = environ.get(spec.metadata["env"])
            if raw is not None and (raw or types[spec.name] != str | None):
                values[spec.name] = _parse(raw, types[spec.name], spec.metadata["env"])
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)

    def environment(self) -> dict[str, str]:
        """These settings as `CEREBRO_*` variables: what another process reads back with `from_env`."""
        return {
            spec.metadata["env"]: str(getattr(self, spec.name))
            for spec in dataclasses.fields(self)
            if getattr(self, spec.name) is not None
        }

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'cerebro.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "indexes"

    @property
    def model_cache_dir(self) -> Path:
        """Exports of the encoder for other runtimes (ONNX), made once per model."""
        return self.data_dir / "models"


def _parse(raw: str, kind: Any, env: str) -> Any:
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw)
        return raw
    except ValueError:
        raise ValueError(f"{env} must be a {kind.__name__}, not {raw!r}") from None
