"""Settings from command-line flags over `CEREBRO_*` environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cerebro_serve.engine.models import DEFAULT_MODEL
from cerebro_serve.services.keys import KEY_PATTERN, new_key

DEFAULT_DATA_DIR = Path(".cerebro")


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    device: str = "auto"
    precision: str = "auto"
    backend: str = "torch"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 10 * 1024 * 1024
    parse_timeout_seconds: float = 30.0
    batch_tokens: int = 16_384
    batch_wait_ms: float = 5.0
    max_pending: int = 1_024
    training_worker: str = "thread"  # thread: trainings run inside the server; external: `cerebro-serve worker`

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "data_dir": Path(env.get("CEREBRO_DATA_DIR", str(DEFAULT_DATA_DIR))),
            "database_url": env.get("CEREBRO_DATABASE_URL") or None,
            "api_key": env.get("CEREBRO_API_KEY") or None,
            "model": env.get("CEREBRO_MODEL", DEFAULT_MODEL),
            "device": env.get("CEREBRO_DEVICE", "auto"),
            "precision": env.get("CEREBRO_PRECISION", "auto"),
            "backend": env.get("CEREBRO_BACKEND", "torch"),
            "host": env.get("CEREBRO_HOST", "127.0.0.1"),
            "port": int(env.get("CEREBRO_PORT", "8000")),
            "max_body_bytes": int(env.get("CEREBRO_MAX_BODY_BYTES", str(10 * 1024 * 1024))),
            "parse_timeout_seconds": float(env.get("CEREBRO_PARSE_TIMEOUT_SECONDS", "30")),
            "batch_tokens": int(env.get("CEREBRO_BATCH_TOKENS", "16384")),
            "batch_wait_ms": float(env.get("CEREBRO_BATCH_WAIT_MS", "5")),
            "max_pending": int(env.get("CEREBRO_MAX_PENDING", "1024")),
            "training_worker": env.get("CEREBRO_TRAINING_WORKER", "thread"),
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

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


def resolve_admin_key(settings: Settings) -> tuple[str, bool]:
    """(admin key, whether it was just generated). A generated key is kept in the data dir, readable by its owner only."""
    if settings.api_key:
        if not KEY_PATTERN.match(settings.api_key) or not settings.api_key.startswith("ask_"):
            raise ValueError("CEREBRO_API_KEY must look like ask_ followed by 32 lowercase hex characters")
        return settings.api_key, False
    key_file = settings.data_dir / "api_key"
    if key_file.exists():
        return key_file.read_text().strip(), False
    key = new_key("all")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key, True
