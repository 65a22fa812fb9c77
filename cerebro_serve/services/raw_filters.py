"""HrFlow's `raw_filters`: the subset of Elasticsearch's query DSL it documents, compiled into a row-mask
condition (index/filters.py) that the ranking applies before the vector search, like every other filter.

Clauses: `bool` (`must`, `filter`, `should` with `minimum_should_match`, `must_not`), `match` (any of the
words; `"operator": "and"`: all), `match_phrase`, `term`, `terms`, `range` (`gte`, `gt`, `lte`, `lt`).
Fields: `text` (the record's text, as `text_keywords` reads it), `name`, and a profile's `summary`,
`experiences` and `educations` (as the `*_keywords` filters read them); `skills.name`, `skills.taxonomy_id`,
`languages.name` and `interests.name` (as the `skills`, `languages` and `interests` filters read them);
`tags.name` (any value) and `tags.<name>`; `created_at` and `updated_at` (ISO dates), `experience_duration`
and `education_duration` (years) for ranges. Anything else is a 400 naming the clause or the field: a
filter ignored would look applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cerebro_serve.index.filters import AllOf, AnyOf, Condition, NoneOf, RowFilter
from cerebro_serve.scoring.features import language_bit
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.queries import NamedFilter
from cerebro_serve.services.record_facets import fold_name
from cerebro_serve.services.records import tag_value
from cerebro_serve.services.timestamps import parse_timestamp
from cerebro_serve.store import FacetFilter, RecordFilter, TagClause
from cerebro_serve.store.records import EDUCATION_YEARS, INTEREST

MAX_CLAUSES = 100
MAX_DEPTH = 10
LEAVES = ("match", "match_phrase", "term", "terms", "range")
BOOL_PARTS = ("must", "filter", "should", "must_not", "minimum_should_match")
SECTION_FIELDS = ("summary", "experiences", "educations")
TEXT_FIELDS = ("text", "name", *SECTION_FIELDS)
TERM_FIELDS = (
    "skills.name",
    "skills.taxonomy_id",
    "languages.name",
    "interests.name",
    "tags.name",
    "tags.<name>",
    *TEXT_FIELDS,
)
RANGE_FIELDS = ("created_at", "updated_at", "experience_duration", "education_duration")


class RawFilters:
    """Compiles one request's `raw_filters`. `text_ids`: the ids of the records a text filter keeps (the
    store's keyword and name search over the request's pools); `skill`: a skill's concept hash."""

    def __init__(self, text_ids: Callable[[RecordFilter], np.ndarray], skill: Callable[[NamedFilter], int]) -> None:
        self.text_ids = text_ids
        self.skill = skill
        self.clauses = 0

    def compile(self, raw: dict[str, Any]) -> Condition:
        query = raw.get("query", raw) if set(raw) <= {"query"} else raw
        return self._clause(query, "query", 0)

    def _clause(self, clause: Any, path: str, depth: int) -> Condition:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES or depth > MAX_DEPTH:
            raise _refused(f"more than {MAX_CLAUSES} clauses or {MAX_DEPTH} levels of `bool`")
        if not isinstance(clause, dict) or len(clause) != 1:
            raise _refused(f"`{path}` must be an object with one clause (one of bool, {', '.join(LEAVES)})")
        [(kind, body)] = clause.items()
        if kind == "bool":
            return self._bool(body, f"{path}.bool", depth)
        if kind not in LEAVES:
            raise _refused(f"`{path}.{kind}` is not supported (use bool, {', '.join(LEAVES)})")
        if not isinstance(body, dict) or len(body) != 1:
            raise _refused(f"`{path}.{kind}` must name one field")
        [(field, value)] = body.items()
        where = f"{path}.{kind}.{field}"
        if kind == "range":
            return self._range(field, value, where)
        if kind == "terms":
            if not isinstance(value, list) or not value:
                raise _refused(f"`{where}` must be a list of values")
            return AnyOf(tuple(self._term(field, item, where) for item in value))
        if kind == "term":
            return self._term(field, value.get("value") if isinstance(value, dict) else value, where)
        return self._match(field, value, kind == "match_phrase", where)

    def _bool(self, body: Any, path: str, depth: int) -> Condition:
        if not isinstance(body, dict) or not set(body) <= set(BOOL_PARTS):
            raise _refused(f"`{path}` takes {', '.join(BOOL_PARTS)}")

        def parts(name: str) -> tuple[Condition, ...]:
            given = body.get(name, [])
            given = given if isinstance(given, list) else [given]
            return tuple(self._clause(part, f"{path}.{name}[{i}]", depth + 1) for i, part in enumerate(given))

        required, should, excluded = parts("must") + parts("filter"), parts("should"), parts("must_not")
        at_least = body.get("minimum_should_match", 0 if required else 1)
        if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 0:
            raise _refused(f"`{path}.minimum_should_match` must be a whole number (percentages are not supported)")
        conditions = list(required)
        if should and at_least:
            conditions.append(AnyOf(should, at_least))  # more than there are: nothing passes, as in ES
        if excluded:
            conditions.append(NoneOf(excluded))
        return AllOf(tuple(conditions))

    def _match(self, field: str, value: Any, phrase: bool, where: str) -> Condition:
        operator = "or"
        if isinstance(value, dict):
            operator, value = str(value.get("operator", "or")).lower(), value.get("query")
        if not isinstance(value, str) or not value.strip() or operator not in ("or", "and"):
            raise _refused(f"`{where}` must be a text (with `operator` or or and)")
        if field not in TEXT_FIELDS:
            return self._term(field, value, where)
        words = [value.strip()] if phrase else value.split()
        leaves = tuple(self._text(field, word) for word in words)
        return AllOf(leaves) if operator == "and" else AnyOf(leaves)

    def _term(self, field: str, value: Any, where: str) -> Condition:
        if value is None or isinstance(value, (dict, list)):
            raise _refused(f"`{where}` must be one value")
        text = str(value)
        if field in TEXT_FIELDS:
            return self._text(field, text)
        if field in ("skills.name", "skills.taxonomy_id"):
            named = NamedFilter(name=text) if field == "skills.name" else NamedFilter(taxonomy_id=text)
            return RowFilter(skills=(self.skill(named),))
        if field == "languages.name":
            bit = language_bit(text)
            if not bit:
                raise _refused(f"`{where}`: unknown language {text!r}")
            return RowFilter(languages=bit)
        if field == "interests.name":
            return RowFilter(record_ids=self.text_ids(RecordFilter(facets=(FacetFilter(INTEREST, fold_name(text)),))))
        if field == "tags.name":
            return RowFilter(tags_included=((TagClause(text),),))
        if field.startswith("tags.") and len(field) > len("tags."):
            return RowFilter(tags_included=((TagClause(field[len("tags.") :], tag_value(value)),),))
        raise _refused(f"`{where}`: no field `{field}` to filter on (terms: {', '.join(TERM_FIELDS)})")

    def _text(self, field: str, text: str) -> RowFilter:
        if field == "text":
            wanted = RecordFilter(text_keywords=(text.casefold(),))
        elif field in SECTION_FIELDS:
            wanted = RecordFilter(section_keywords=((field, text.strip().casefold()),))
        else:
            wanted = RecordFilter(name=text)
        return RowFilter(record_ids=self.text_ids(wanted))

    def _range(self, field: str, bounds: Any, where: str) -> RowFilter:
        if field not in RANGE_FIELDS:
            raise _refused(f"`{where}`: no field `{field}` to range over ({', '.join(RANGE_FIELDS)})")
        if not isinstance(bounds, dict) or not bounds or not set(bounds) <= {"gte", "gt", "lte", "lt"}:
            raise _refused(f"`{where}` takes gte, gt, lte and lt")
        if field == "experience_duration":
            low, high = _years(bounds, where)
            return RowFilter(years_min=low, years_max=high)
        if field == "education_duration":
            low, high = _years(bounds, where)
            years = FacetFilter(EDUCATION_YEARS, None, low, high)
            return RowFilter(record_ids=self.text_ids(RecordFilter(facets=(years,))))
        low_us, high_us = _instants(bounds, where)
        if field == "created_at":
            return RowFilter(created_at_min_us=low_us, created_at_max_us=high_us)
        return RowFilter(updated_at_min_us=low_us, updated_at_max_us=high_us)


def _years(bounds: dict[str, Any], where: str) -> tuple[float | None, float | None]:
    """A range of years as closed float32 bounds (a strict bound moves one float32 step in)."""
    values = {}
    for name, value in bounds.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _refused(f"`{where}.{name}` must be a number of years")
        values[name] = np.float32(value)
    low = values.get("gte", np.nextafter(values["gt"], np.float32(np.inf)) if "gt" in values else None)
    high = values.get("lte", np.nextafter(values["lt"], np.float32(-np.inf)) if "lt" in values else None)
    return (None if low is None else float(low)), (None if high is None else float(high))


def _instants(bounds: dict[str, Any], where: str) -> tuple[int | None, int | None]:
    values = {}
    for name, value in bounds.items():
        if not isinstance(value, str):
            raise _refused(f"`{where}.{name}` must be an ISO 8601 date")
        values[name] = parse_timestamp(value, f"raw_filters {where}.{name}")
    low = values.get("gte", values["gt"] + 1 if "gt" in values else None)
    high = values.get("lte", values["lt"] - 1 if "lt" in values else None)
    return low, high


def _refused(detail: str) -> InvalidParameters:
    return InvalidParameters(f"`raw_filters`: {detail}")
