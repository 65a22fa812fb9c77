"""Keyword filters answered from a trigram index instead of a scan of every record's text.

`text_keywords` match as substrings of a record's casefolded text. A trigram index answers that exactly for
keywords of three characters or more: SQLite's FTS5 `trigram` tokenizer (a phrase of trigrams is a
substring; an external-content table over `records`, kept in step by triggers), PostgreSQL's `pg_trgm`
GIN index (which its planner uses for `LIKE '%…%'` by itself). Shorter keywords, and a database without
these, fall back to the scan: slower, same answer.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from cerebro_serve.store.connection import like_escape

log = logging.getLogger(__name__)
SEARCH_TABLE = "record_search"
TRIGRAM = 3  # characters: the shortest keyword a trigram index can answer

_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
    "search_text, content='records', content_rowid='id', tokenize='trigram')",
    f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}) VALUES ('rebuild')",
    f"""CREATE TRIGGER records_search_insert AFTER INSERT ON records BEGIN
        INSERT INTO {SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    f"""CREATE TRIGGER records_search_delete AFTER DELETE ON records BEGIN
        INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    END""",
    f"""CREATE TRIGGER records_search_update AFTER UPDATE OF search_text ON records BEGIN
        INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        INSERT INTO {SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
)
_search = sa.table(SEARCH_TABLE, sa.column("rowid"), sa.column(SEARCH_TABLE))  # the FTS5 table, for queries
_TRIGRAM_SCHEMA = (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
)


def install_trigrams(connection: Connection) -> None:
    """pg_trgm in `public` unless installed already: database-wide, it must outlive any one store's schema
    (and a backup restored into another database needs it there before its index)."""
    connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")


def create_search_index(connection: Connection) -> None:
    """The trigram index over every record's text (a migration step, inside its transaction). A database
    that cannot hold one (an SQLite built without FTS5, a PostgreSQL user who may not create pg_trgm) is
    left without it, with a warning: keyword filters then scan."""
    try:
        with connection.begin_nested():
            if connection.dialect.name == "sqlite":
                for statement in _SQLITE_DDL:
                    connection.exec_driver_sql(statement)
                return
            install_trigrams(connection)
            schema = connection.exec_driver_sql(_TRIGRAM_SCHEMA).scalar_one()
            connection.exec_driver_sql(
                f'CREATE INDEX ix_records_search_trigrams ON records USING gin (search_text "{schema}".gin_trgm_ops)'
            )
    except sa.exc.DBAPIError as error:
        log.warning("no trigram index for keyword filters (they will scan every record): %s", error.orig)


def has_search_index(engine: Engine) -> bool:
    """Whether the SQLite store has its FTS5 table (PostgreSQL's index needs nothing from the query)."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        return SEARCH_TABLE in sa.inspect(connection).get_table_names()


def keyword_condition(text: ColumnElement, record_id: ColumnElement, keyword: str, indexed: bool) -> ColumnElement:
    """Records whose casefolded text holds the (casefolded) keyword: from the FTS5 table when `indexed` and
    the keyword is long enough, else by LIKE (which PostgreSQL answers from its trigram index)."""
    if indexed and len(keyword) >= TRIGRAM:
        phrase = '"' + keyword.replace('"', '""') + '"'  # an FTS5 string: the keyword, literally
        matching = sa.select(_search.c.rowid).where(_search.c[SEARCH_TABLE].op("MATCH")(phrase))
        return record_id.in_(matching)
    return text.like(f"%{like_escape(keyword)}%", escape="\\")
