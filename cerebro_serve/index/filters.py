"""Filters as row masks over a pool's feature columns, pushed into the vector search.

Tags are CNF (AND over groups, OR inside a group; a clause without a value matches any value of its
tag), dates are ranges, a geo filter keeps rows within a radius, and archived rows never pass. Years of
experience are a range (a record whose years are unknown never passes), skills are taxonomy concepts every
row must hold, languages are bits every row must have. A `condition` combines filters with AND, OR (at
least n of) and NOT: what a query DSL (`raw_filters`) compiles to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from cerebro_serve.geo import distance_km
from cerebro_serve.index.columns import ColumnArrays
from cerebro_serve.record_features import UNKNOWN
from cerebro_serve.store import TagClause


@dataclass(frozen=True, slots=True)
class GeoFilter:
    lat: float
    lng: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class RowFilter:
    created_at_min_us: int | None = None
    created_at_max_us: int | None = None
    tags_included: tuple[tuple[TagClause, ...], ...] = ()
    tags_excluded: tuple[tuple[TagClause, ...], ...] = ()
    geo: GeoFilter | None = None
    record_ids: np.ndarray | None = None  # only these records (from a keyword or name filter), sorted
    excluded_ids: np.ndarray | None = None  # never these records (the anchor of a matching)
    refused: int = 0  # REFUSES_* bits: records whose consent withholds this use are left out
    refusing: int = 0  # REFUSES_* bits: only records whose consent withholds one of these (to review by hand)
    years_min: float | None = None  # years of experience (a job's: those it asks for)
    years_max: float | None = None
    skills: tuple[int, ...] = ()  # skill concept hashes (scoring.features.skill_hash) every record holds
    languages: int = 0  # LANGUAGE_BITS every record speaks
    updated_at_min_us: int | None = None
    updated_at_max_us: int | None = None
    condition: Condition | None = None  # a combination of filters every row must also pass
    archived_too: bool = False  # archived rows pass too (explaining a record archived since it was scored)


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least `at_least` of the conditions (0: any row, as a bool query's optional `should`)."""

    conditions: tuple[Condition, ...]
    at_least: int = 1


@dataclass(frozen=True, slots=True)
class NoneOf:
    conditions: tuple[Condition, ...]


Condition: TypeAlias = "RowFilter | AllOf | AnyOf | NoneOf"


def condition_mask(columns: ColumnArrays, condition: Condition) -> np.ndarray:
    """The rows a condition allows (archived rows included under a NOT: the filter around it drops them)."""
    if isinstance(condition, RowFilter):
        return row_mask(columns, condition)
    masks = np.array([condition_mask(columns, part) for part in condition.conditions], dtype=bool)
    masks = masks.reshape(len(condition.conditions), columns.rows)
    if isinstance(condition, AllOf):
        return np.asarray(masks.all(axis=0))
    if isinstance(condition, AnyOf):
        return np.asarray(masks.sum(axis=0) >= condition.at_least)
    return np.asarray(~masks.any(axis=0))


def row_mask(columns: ColumnArrays, row_filter: RowFilter) -> np.ndarray:
    n = columns.rows
    f = row_filter
    mask = np.ones(n, dtype=bool) if f.archived_too else columns.alive[:n].copy()
    if f.updated_at_min_us is not None:
        mask &= columns.updated_at_us[:n] >= f.updated_at_min_us
    if f.updated_at_max_us is not None:
        mask &= columns.updated_at_us[:n] <= f.updated_at_max_us
    if f.condition is not None:
        mask &= condition_mask(columns, f.condition)
    if f.created_at_min_us is not None:
        mask &= columns.created_at_us[:n] >= f.created_at_min_us
    if f.created_at_max_us is not None:
        mask &= columns.created_at_us[:n] <= f.created_at_max_us
    for group in f.tags_included:
        mask &= _group_mask(columns, group)
    if f.tags_excluded:
        excluded = np.ones(n, dtype=bool)
        for group in f.tags_excluded:
            excluded &= _group_mask(columns, group)
        mask &= ~excluded
    if f.geo is not None:
        mask &= within_radius(columns.lat[:n], columns.lng[:n], f.geo)
    if f.record_ids is not None:
        mask &= np.isin(columns.record_ids[:n], f.record_ids, assume_unique=True)
    if f.excluded_ids is not None:
        mask &= ~np.isin(columns.record_ids[:n], f.excluded_ids)
    if f.refused:
        mask &= (columns.refusals[:n] & f.refused) == 0
    if f.refusing:
        mask &= (columns.refusals[:n] & f.refusing) != 0
    if f.years_min is not None or f.years_max is not None:
        years = columns.years[:n]
        mask &= years != np.float32(UNKNOWN)
        if f.years_min is not None:
            mask &= years >= np.float32(f.years_min)
        if f.years_max is not None:
            mask &= years <= np.float32(f.years_max)
    for skill in f.skills:
        mask &= _holding(columns, skill)
    if f.languages:
        mask &= (columns.languages[:n] & f.languages) == f.languages
    return mask


def _holding(columns: ColumnArrays, skill: int) -> np.ndarray:
    """Which rows list the skill: its hits counted along the packed lists, compared at each row's ends."""
    n = columns.rows
    hits = np.zeros(columns.skill_used + 1, dtype=np.int64)
    np.cumsum(columns.skill_ids[: columns.skill_used] == np.uint32(skill), out=hits[1:])
    starts = columns.skill_start[:n]
    return hits[starts + columns.skill_count[:n]] > hits[starts]


def _group_mask(columns: ColumnArrays, group: tuple[TagClause, ...]) -> np.ndarray:
    mask = np.zeros(columns.rows, dtype=bool)
    for clause in group:
        for (name, value), rows in columns.tag_rows.items():
            if name == clause.name and (clause.value is None or value == clause.value):
                mask[rows[rows < columns.rows]] = True
    return mask


def within_radius(lat: np.ndarray, lng: np.ndarray, geo: GeoFilter) -> np.ndarray:
    """Haversine distance test; rows without coordinates are outside every radius."""
    with np.errstate(invalid="ignore"):
        return distance_km(geo.lat, geo.lng, lat, lng) <= geo.radius_km
