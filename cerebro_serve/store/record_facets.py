"""A record's sections and facets: written with it, erased with it, and read by the filters that need
more than the pool's columns (keywords in one section, interests, named ranges, years of education, the
places of experiences and educations)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from cerebro_serve.geo import bounding_box, distance_km
from cerebro_serve.store.connection import IN_CHUNK
from cerebro_serve.store.records import FACETS_VERSION, FacetFilter, PlaceFilter, RecordFacets, RecordFilter
from cerebro_serve.store.schema import record_facets, record_sections, records
from cerebro_serve.store.text_search import SECTION_SEARCH_TABLE, keyword_condition


def write_facets(connection: Connection, written: Sequence[tuple[int, RecordFacets]]) -> None:
    """Insert the facets of records just written (their old ones, if any, deleted first by the caller)."""
    sections = [
        {"record_id": record_id, "section": section, "text": text}
        for record_id, facets in written
        for section, text in facets.sections
        if text
    ]
    rows = [
        {"record_id": record_id, "kind": facet.kind, "name": facet.name, "low": facet.low, "high": facet.high}
        for record_id, facets in written
        for facet in facets.facets
    ]
    if sections:
        connection.execute(record_sections.insert(), sections)
    if rows:
        connection.execute(record_facets.insert(), rows)


def erase_facets(connection: Connection, record_id: int) -> int:
    """Delete a record's sections and facets; returns how many rows went."""
    gone = connection.execute(record_sections.delete().where(record_sections.c.record_id == record_id)).rowcount
    return gone + connection.execute(record_facets.delete().where(record_facets.c.record_id == record_id)).rowcount


def replace_facets(engine: Engine, described: Sequence[tuple[int, RecordFacets]]) -> None:
    """Facets computed for records that had none or older ones (their pool's revision stays: no index
    reads them)."""
    with engine.begin() as connection:
        ids = [record_id for record_id, _ in described]
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK]
            connection.execute(record_sections.delete().where(record_sections.c.record_id.in_(chunk)))
            connection.execute(record_facets.delete().where(record_facets.c.record_id.in_(chunk)))
            connection.execute(records.update().where(records.c.id.in_(chunk)).values(facets_version=FACETS_VERSION))
        write_facets(connection, described)


def lacking_facets(engine: Engine, pool_key: str, batch: int) -> Iterator[list[tuple[int, str, bytes]]]:
    """(id, kind, body) of the pool's records whose facets are missing or older, a batch at a time (each
    batch read on its own: the caller writes between them)."""
    lacking = sa.select(records.c.id).where(records.c.pool_key == pool_key, records.c.facets_version < FACETS_VERSION)
    with engine.connect() as connection:
        ids = connection.execute(lacking.order_by(records.c.id)).scalars().all()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(records.c.id, records.c.kind, records.c.body).where(records.c.id.in_(chunk))
            ).all()
        yield [(int(row.id), row.kind, bytes(row.body)) for row in rows]


def facet_conditions(record_filter: RecordFilter, search_tables: frozenset[str]) -> list[ColumnElement]:
    """SQL conditions on `records.id` for the filter's section keywords, facets, and the bounding boxes of
    its places (`near` then keeps those within each radius)."""
    conditions: list[ColumnElement] = []
    indexed = SECTION_SEARCH_TABLE if SECTION_SEARCH_TABLE in search_tables else None
    for section, keyword in record_filter.section_keywords:
        holding = keyword_condition(record_sections.c.text, record_sections.c.id, keyword, indexed)
        with_keyword = sa.select(record_sections.c.record_id).where(record_sections.c.section == section, holding)
        conditions.append(records.c.id.in_(with_keyword))
    for wanted in record_filter.facets:
        conditions.append(records.c.id.in_(sa.select(record_facets.c.record_id).where(*_meets(wanted))))
    for place in record_filter.places:
        lat_min, lat_max, lng_min, lng_max = bounding_box(place.lat, place.lng, place.radius_km)
        inside = [record_facets.c.kind == place.kind, record_facets.c.low.between(lat_min, lat_max)]
        if lng_min is not None:
            inside.append(record_facets.c.high.between(lng_min, lng_max))
        conditions.append(records.c.id.in_(sa.select(record_facets.c.record_id).where(*inside)))
    return conditions


def _meets(wanted: FacetFilter) -> list[ColumnElement]:
    """A facet row of the kind (and name) whose [low, high] overlaps the wanted one (NULL ends are open)."""
    meets = [record_facets.c.kind == wanted.kind]
    if wanted.name is not None:
        meets.append(record_facets.c.name == wanted.name)
    if wanted.high is not None:
        meets.append(sa.or_(record_facets.c.low.is_(None), record_facets.c.low <= wanted.high))
    if wanted.low is not None:
        meets.append(sa.or_(record_facets.c.high.is_(None), record_facets.c.high >= wanted.low))
    return meets


def near(connection: Connection, ids: np.ndarray, places: Sequence[PlaceFilter]) -> np.ndarray:
    """Which of these records (sorted ids, already inside each place's bounding box) have a place of each
    filter's kind within its radius."""
    keep = np.ones(len(ids), dtype=bool)
    for place in places:
        close: list[np.ndarray] = []
        for start in range(0, len(ids), IN_CHUNK):
            chunk = [int(i) for i in ids[start : start + IN_CHUNK]]
            rows = connection.execute(
                sa.select(record_facets.c.record_id, record_facets.c.low, record_facets.c.high).where(
                    record_facets.c.kind == place.kind, record_facets.c.record_id.in_(chunk)
                )
            ).all()
            located = np.array([row.record_id for row in rows], dtype=np.int64)
            lat = np.array([row.low for row in rows], dtype=np.float64)
            lng = np.array([row.high for row in rows], dtype=np.float64)
            close.append(located[distance_km(place.lat, place.lng, lat, lng) <= place.radius_km])
        keep &= np.isin(ids, np.concatenate(close)) if close else False
    return keep
