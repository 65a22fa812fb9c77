"""Backups of the store that a running server keeps writing to: SQLite's online backup API (a consistent
copy, page by page, while writers go on) or `pg_dump`'s custom format for PostgreSQL (one snapshot
transaction); restoring writes one back into an empty store and refuses a store that holds anything."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from cerebro_serve.store.connection import open_engine
from cerebro_serve.store.schema import MIGRATIONS, pools
from cerebro_serve.store.text_search import install_trigrams

MANIFEST = "manifest.json"
SQLITE_FILE = "store.sqlite"
POSTGRES_FILE = "store.pgdump"


class BackupError(Exception):
    """The backup or restore could not be made; the message says why in words an operator acts on."""


@dataclass(frozen=True)
class Manifest:
    dialect: str  # sqlite or postgresql
    schema_version: int  # the store's migrations when it was copied
    created_at: str
    store_file: str
    schema: str | None = None  # PostgreSQL: the schema dumped (restored under the same name)


def _libpq_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite store has nothing to back up")
    return Path(database)


def _schema_of(url: str) -> str | None:
    """The PostgreSQL schema the store lives in (the first of its `search_path` that exists), or None."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
    finally:
        engine.dispose()
    return None if schema is None else str(schema)


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed: PostgreSQL's client tools are needed") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")


def backup_store(url: str, directory: Path) -> Manifest:
    """Copy the store at `url` into `directory` (made if missing, which must hold no backup yet)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / MANIFEST).exists():
        raise BackupError(f"{directory} already holds a backup: choose an empty folder")
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    schema: str | None = None
    if dialect == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"there is no store at {source}")
        with sqlite3.connect(source) as reading, sqlite3.connect(directory / SQLITE_FILE) as writing:
            reading.backup(writing)
        reading.close()
        writing.close()
        store_file = SQLITE_FILE
    else:
        store_file = POSTGRES_FILE
        schema = _schema_of(url) or "public"
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                f"--schema={schema}",
                f"--file={directory / store_file}",
                f"--dbname={_libpq_url(url)}",
            ]
        )
    manifest = Manifest(
        dialect,
        _schema_version(url),
        dt.datetime.now(dt.UTC).isoformat(),
        store_file,
        schema,
    )
    (directory / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def restore_store(url: str, directory: Path) -> Manifest:
    """Write the backup in `directory` into the (empty) store at `url`, of the same kind."""
    try:
        manifest = Manifest(**json.loads((directory / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise BackupError(f"{directory} holds no backup this version can read ({error})") from None
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    if manifest.dialect != dialect:
        raise BackupError(f"this backup is of a {manifest.dialect} store and the store configured is {dialect}")
    if manifest.schema_version > len(MIGRATIONS):
        raise BackupError(f"this backup comes from a newer release (schema {manifest.schema_version})")
    if _holds_data(url):
        raise BackupError("the store configured already holds pools: restore into an empty store")
    if dialect == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)
        with sqlite3.connect(directory / SQLITE_FILE) as reading, sqlite3.connect(target) as writing:
            reading.backup(writing)
        reading.close()
        writing.close()
    else:
        _restore_postgres(url, directory, manifest)
    return manifest


def _restore_postgres(url: str, directory: Path, manifest: Manifest) -> None:
    """pg_restore into the schema the backup was taken from; when that schema exists already (`public`,
    say), its now empty tables go and the dump's entry that would create it again is skipped."""
    schema = _schema_of(url)
    if schema is not None and schema != manifest.schema:
        raise BackupError(f"this backup is of schema {manifest.schema}: point the store's search_path there")
    dump = directory / POSTGRES_FILE
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {dump}: {listing.stderr.strip()[:2000]}")
    entries = listing.stdout.splitlines()
    if schema is not None:
        _drop_empty_schema(url)
        entries = [line for line in entries if f" SCHEMA - {schema} " not in line]
    _install_extensions(url)
    chosen = directory / "restore.list"
    chosen.write_text("\n".join(entries) + "\n")
    try:
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                f"--use-list={chosen}",
                f"--dbname={_libpq_url(url)}",
                str(dump),
            ]
        )
    finally:
        chosen.unlink(missing_ok=True)


def _install_extensions(url: str) -> None:
    """The extensions the store's indexes use (a dump of one schema leaves them out), where allowed: when
    not, pg_restore says which index it could not make."""
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            install_trigrams(connection)
    except sa.exc.DBAPIError:
        pass
    finally:
        engine.dispose()


def _schema_version(url: str) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT max(version) FROM schema_version")).scalar() or 0)
    finally:
        engine.dispose()


def _holds_data(url: str) -> bool:
    """Whether the store has pools; a store no server has opened yet (no tables) holds nothing."""
    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return False
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(pools.name):
                return False
            return connection.execute(sa.select(sa.func.count()).select_from(pools)).scalar_one() > 0
    finally:
        engine.dispose()


def _drop_empty_schema(url: str) -> None:
    """The tables an empty, migrated store made go, so that the dump's own definitions can be restored."""
    engine = open_engine(url)
    try:
        with engine.begin() as connection:
            tables = sa.inspect(connection).get_table_names()
            for table in tables:
                connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    finally:
        engine.dispose()


def copy_tree(source: Path, target: Path) -> int:
    """Copy a folder of files (the index cache) and say how many files it held."""
    if not source.exists():
        return 0
    shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for path in target.rglob("*") if path.is_file())
