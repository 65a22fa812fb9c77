"""Backup and restore round trips: what a workspace stored (pools, records, feedback, copilots) comes back
in an empty store, on SQLite and on PostgreSQL (pg_dump/pg_restore into another database), and through the
CLI with the index files and the admin key; a store that holds data is never overwritten."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import POSTGRES_URL
from helpers import profile

from cerebro_serve.cli import main
from cerebro_serve.store import SqlStore
from cerebro_serve.store.backup import BackupError, backup_store, restore_store

TABLES = ("pools", "records", "feedback", "copilots", "api_keys", "schema_version")


def _contents(url: str) -> dict[str, list[tuple]]:
    store = SqlStore(url)
    try:
        with store.engine.connect() as connection:
            return {
                table: sorted(tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table}")))
                for table in TABLES
            }
    finally:
        store.close()


def _write_some(client, workspace) -> None:
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    client.post("/v1/profile/indexing", json=profile("Python developer, Django.", source_key=source, reference="p1"))
    client.post("/v1/job/indexing", json={"board_key": board, "reference": "j1", "name": "Python developer"})
    rating = {
        "role": "recruiter",
        "source_key": source,
        "board_key": board,
        "profile_reference": "p1",
        "job_reference": "j1",
        "score": 0.9,
    }
    assert client.post("/v1/rating", json=rating).status_code == 201
    assert (
        client.post(
            "/v1/copilot", json={"type": "talent", "name": "Careers", "source_keys": [source], "board_keys": [board]}
        ).status_code
        == 201
    )
    workspace.keys.create("read")


@pytest.fixture
def other_database() -> Iterator[str]:
    """An empty PostgreSQL database, dropped afterwards: where a backup is restored."""
    name = f"cerebro_restore_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_a_store_comes_back_whole_in_an_empty_one(client, workspace, tmp_path: Path, request) -> None:
    _write_some(client, workspace)
    url = workspace.store.url
    manifest = backup_store(url, tmp_path / "backup")
    assert manifest.dialect == workspace.store.dialect and manifest.schema_version == workspace.store.schema_version
    with pytest.raises(BackupError, match="already holds a backup"):
        backup_store(url, tmp_path / "backup")
    with pytest.raises(BackupError, match="already holds pools"):
        restore_store(url, tmp_path / "backup")  # never over a store with data
    if workspace.store.dialect == "sqlite":
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    else:  # the same schema name, in another database
        schema = url.split("search_path%3D")[1]
        target = request.getfixturevalue("other_database") + f"?options=-csearch_path%3D{schema}"
    restore_store(target, tmp_path / "backup")
    assert _contents(target) == _contents(url)
    assert _contents(target)["records"]


def test_the_cli_backs_up_and_restores_a_data_dir_with_its_indexes_and_key(tmp_path: Path, monkeypatch) -> None:
    for name in ("CEREBRO_DATA_DIR", "CEREBRO_DATABASE_URL", "CEREBRO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    origin, copy = tmp_path / "origin", tmp_path / "copy"
    origin.mkdir()
    store = SqlStore(f"sqlite:///{origin / 'cerebro.db'}")
    with store.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO pools (key, kind, name, created_at_us) VALUES ('s', 'source', 'S', 1)"))
    store.close()
    (origin / "indexes").mkdir()
    (origin / "indexes" / "s.vectors").write_bytes(b"\x00" * 64)
    (origin / "api_key").write_text("ask_" + "1" * 32 + "\n")
    assert main(["--data-dir", str(origin), "backup", str(tmp_path / "backup")]) == 0
    assert main(["--data-dir", str(copy), "restore", str(tmp_path / "backup")]) == 0
    assert (
        _contents(f"sqlite:///{copy / 'cerebro.db'}")["pools"]
        == _contents(f"sqlite:///{origin / 'cerebro.db'}")["pools"]
    )
    assert (copy / "indexes" / "s.vectors").read_bytes() == b"\x00" * 64
    assert (copy / "api_key").read_text() == (origin / "api_key").read_text()
    assert main(["--data-dir", str(copy), "restore", str(tmp_path / "backup")]) == 1  # not over data
    assert main(["--data-dir", str(copy), "restore", str(tmp_path / "nothing")]) == 1
