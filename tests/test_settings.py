"""Settings: one declaration per setting gives its default, its environment variable and its parsing."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from cerebro_serve.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.data_dir == Path(".cerebro") and settings.port == 8000 and settings.precision == "auto"
    assert settings.database_url is None and settings.store_url.startswith("sqlite:///")


def test_environment_is_parsed_by_each_settings_type() -> None:
    settings = Settings.from_env(
        {
            "CEREBRO_DATA_DIR": "/srv/cerebro",
            "CEREBRO_PORT": "9001",
            "CEREBRO_BATCH_WAIT_MS": "2.5",
            "CEREBRO_DATABASE_URL": "postgresql://u@db:5432/x",
            "CEREBRO_API_KEY": "",  # empty means unset for optional values
            "CEREBRO_BACKEND": "onnx",
        }
    )
    assert settings.data_dir == Path("/srv/cerebro") and settings.port == 9001 and settings.batch_wait_ms == 2.5
    assert settings.store_url == "postgresql://u@db:5432/x" and settings.api_key is None
    assert settings.backend == "onnx" and settings.index_dir == Path("/srv/cerebro/indexes")


def test_flags_win_over_environment() -> None:
    settings = Settings.from_env({"CEREBRO_PORT": "9001", "CEREBRO_HOST": "0.0.0.0"}, port=7000, host=None)
    assert settings.port == 7000 and settings.host == "0.0.0.0"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CEREBRO_PORT", "eighty", "CEREBRO_PORT must be a int"),
        ("CEREBRO_PARSE_TIMEOUT_SECONDS", "soon", "CEREBRO_PARSE_TIMEOUT_SECONDS must be a float"),
        ("CEREBRO_TRAINING_WORKER", "cron", "CEREBRO_TRAINING_WORKER must be one of thread, external"),
        ("CEREBRO_PRECISION", "int4", "CEREBRO_PRECISION must be one of auto, float32"),
        ("CEREBRO_CLUSTER", "127.0.0.1:6379", r"CEREBRO_CLUSTER needs CEREBRO_DATABASE_URL \(PostgreSQL\)"),
        ("CEREBRO_SHARDS", "0", "CEREBRO_SHARDS and CEREBRO_SHARD_REPLICAS must be at least 1"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({variable: value})


def test_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `(CEREBRO_[A-Z_]+)`", README.read_text(), flags=re.M))
    declared = {spec.metadata["env"] for spec in dataclasses.fields(Settings)}
    # CEREBRO_HOST and CEREBRO_PORT share one row of the README's table.
    assert declared - {"CEREBRO_PORT"} == documented
