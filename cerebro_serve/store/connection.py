"""Opening the database: SQLAlchemy engines for SQLite (embedded) or PostgreSQL, and the clock every row
is stamped with.

SQLite runs in WAL mode with `synchronous=FULL`, so whatever a store method committed survives a crash of
the process or the machine.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SQLITE_POOL_SIZE = 32  # kept open; as many again may be opened for a moment under a burst


def now_us() -> int:
    return time.time_ns() // 1000


def open_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        # Connections are kept for as many threads as serve requests at once: a connection opened for a
        # request and closed after it (SQLAlchemy's default keeps 5) costs milliseconds, more while a
        # writer holds the database.
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        with engine.connect() as connection:
            # Kept in the database file: set once here, not by every connection (it needs the file's lock).
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


IN_CHUNK = 500  # values per IN (...) list: well under every database's limit on bound parameters


def like_escape(text: str) -> str:
    """Text matched literally inside a LIKE pattern (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
