"""Keyword filters answered from a trigram index instead of a scan of every record's text.

`text_keywords` match as substrings of a record's casefolded text; `summary_keywords`,
`experience_keywords` and `education_keywords` as substrings of that section's text (table
`record_sections`, indexed alike). A trigram index answers that exactly for
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
SECTION_SEARCH_TABLE = "record_section_search"
TRIGRAM = 3  # characters: the shortest keyword a trigram index can answer


def _sqlite_trigram_table(search: str, content: str, column: str, triggers: str) -> tuple[str, ...]:
    """An FTS5 trigram table over `content.column` (external content: the text is stored once), filled
    from the rows already there, and the triggers that keep it in step with every write."""
    old = f"INSERT INTO {search}({search}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    new = f"INSERT INTO {search}(rowid, {column}) VALUES (new.id, new.{column});"
    return (
        f"CREATE VIRTUAL TABLE {search} USING fts5("
        f"{column}, content='{content}', content_rowid='id', tokenize='trigram')",
        f"INSERT INTO {search}({search}) VALUES ('rebuild')",
        f"CREATE TRIGGER {triggers}_insert AFTER INSERT ON {content} BEGIN {new} END",
        f"CREATE TRIGGER {triggers}_delete AFTER DELETE ON {content} BEGIN {old} END",
        f"CREATE TRIGGER {triggers}_update AFTER UPDATE OF {column} ON {content} BEGIN {old} {new} END",
    )


_SQLITE_DDL = _sqlite_trigram_table(SEARCH_TABLE, "records", "search_text", "records_search")
_SECTION_SQLITE_DDL = _sqlite_trigram_table(SECTION_SEARCH_TABLE, "record_sections", "text", "record_sections_search")
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
    _create_trigram_index(connection, _SQLITE_DDL, "ix_records_search_trigrams", "records", "search_text")


def create_section_search_index(connection: Connection) -> None:
    """The same over the sections' texts (a migration step)."""
    _create_trigram_index(connection, _SECTION_SQLITE_DDL, "ix_record_sections_trigrams", "record_sections", "text")


def _create_trigram_index(
    connection: Connection, sqlite_ddl: tuple[str, ...], name: str, table: str, column: str
) -> None:
    try:
        with connection.begin_nested():
            if connection.dialect.name == "sqlite":
                for statement in sqlite_ddl:
                    connection.exec_driver_sql(statement)
                return
            install_trigrams(connection)
            schema = connection.exec_driver_sql(_TRIGRAM_SCHEMA).scalar_one()
            connection.exec_driver_sql(f'CREATE INDEX {name} ON {table} USING gin ({column} "{schema}".gin_trgm_ops)')
    except sa.exc.DBAPIError as error:
        log.warning("no trigram index over %s.%s (keyword filters will scan): %s", table, column, error.orig)


def search_tables(engine: Engine) -> frozenset[str]:
    """The SQLite store's FTS5 tables (PostgreSQL's indexes need nothing from the query)."""
    if engine.dialect.name != "sqlite":
        return frozenset()
    with engine.connect() as connection:
        return frozenset(sa.inspect(connection).get_table_names()) & {SEARCH_TABLE, SECTION_SEARCH_TABLE}


def keyword_condition(
    text: ColumnElement, row_id: ColumnElement, keyword: str, search_table: str | None
) -> ColumnElement:
    """Rows whose casefolded text holds the (casefolded) keyword: from the FTS5 table over that text (its
    rowid is `row_id`) when there is one and the keyword is long enough, else by LIKE (which PostgreSQL
    answers from its trigram index)."""
    if search_table is not None and len(keyword) >= TRIGRAM:
        phrase = '"' + keyword.replace('"', '""') + '"'  # an FTS5 string: the keyword, literally
        search = sa.table(search_table, sa.column("rowid"), sa.column(search_table))
        return row_id.in_(sa.select(search.c.rowid).where(search.c[search_table].op("MATCH")(phrase)))
    return text.like(f"%{like_escape(keyword)}%", escape="\\")
