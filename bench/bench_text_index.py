"""What the keyword filters' trigram index costs a write, per resume, on each store.

Every stored record's casefolded text is kept in a trigram index (`store/text_search.py`: SQLite's FTS5
`trigram` table filled by a trigger, PostgreSQL's `pg_trgm` GIN index). A bulk import commits batches on
one connection, so what a record costs that connection bounds the import however fast the model is. This
times inserting livecareer resumes (real, median ~5,600 characters) in batches of 64, one transaction
each, into a table shaped like `records` (id, search_text, body) with and without the index, created by
the store's own `create_search_index`; on PostgreSQL also from two connections at once. Usage:

    .venv/bin/python -m bench.bench_text_index [--count 2400] [--postgres postgresql://USER@HOST:PORT/DB]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bench.devdata import LIVECAREER, livecareer_texts
from cerebro_serve.store.text_search import create_search_index

BATCH = 64
Loader = Callable[[sa.Engine, list[str]], None]


def _records_table(connection: sa.Connection) -> None:
    key = "INTEGER PRIMARY KEY" if connection.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    blob = "BLOB" if connection.dialect.name == "sqlite" else "BYTEA"
    connection.exec_driver_sql(f"CREATE TABLE records (id {key}, search_text TEXT NOT NULL, body {blob})")


def _insert(engine: sa.Engine, texts: list[str]) -> None:
    statement = sa.text("INSERT INTO records (search_text, body) VALUES (:text, :body)")
    for start in range(0, len(texts), BATCH):
        with engine.begin() as connection:
            connection.execute(
                statement, [{"text": text, "body": text.encode()} for text in texts[start : start + BATCH]]
            )


def _insert_from(connections: int) -> Loader:
    def load(engine: sa.Engine, texts: list[str]) -> None:
        threads = [
            threading.Thread(target=_insert, args=(engine, texts[part::connections])) for part in range(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return load


def _ms_per_record(engine: sa.Engine, texts: list[str], indexed: bool, load: Loader) -> float:
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS record_search")
        connection.exec_driver_sql("DROP TABLE IF EXISTS records")
        _records_table(connection)
        if indexed:
            create_search_index(connection)
    start = time.perf_counter()
    load(engine, texts)
    return (time.perf_counter() - start) * 1000 / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema of its own is made there and dropped)")
    args = parser.parse_args()
    if not LIVECAREER.exists():
        raise SystemExit(f"{LIVECAREER} not found: this benchmark needs the development data in ../shared")
    texts = [text.casefold() for text in livecareer_texts()]
    texts = [texts[number % len(texts)] for number in range(args.count)]
    print(f"{len(texts)} livecareer resumes, batches of {BATCH}, one transaction each; ms per record")
    print("| store | connections | no index | trigram index | the index's cost |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as directory:
        sqlite = sa.create_engine(f"sqlite:///{Path(directory) / 'text.db'}")
        with sqlite.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        _report("SQLite (FTS5 trigram)", 1, sqlite, texts, _insert)
        sqlite.dispose()
    if args.postgres:
        schema = f"cerebro_bench_text_{secrets.token_hex(4)}"
        admin = sa.create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://"))
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        engine = sa.create_engine(
            args.postgres.replace("postgresql://", "postgresql+psycopg://"),
            connect_args={"options": f"-csearch_path={schema}"},
        )
        try:
            for connections in (1, 2):
                _report("PostgreSQL (pg_trgm GIN)", connections, engine, texts, _insert_from(connections))
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


def _report(store: str, connections: int, engine: sa.Engine, texts: list[str], load: Loader) -> None:
    bare = _ms_per_record(engine, texts, False, load)
    indexed = _ms_per_record(engine, texts, True, load)
    print(f"| {store} | {connections} | {bare:.3f} | {indexed:.3f} | {indexed - bare:.3f} |")


if __name__ == "__main__":
    main()
