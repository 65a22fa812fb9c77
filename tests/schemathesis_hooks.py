"""Schemathesis hooks for tests/test_openapi_conformance.py (loaded through SCHEMATHESIS_HOOKS).

A schema says which calls are well formed, not which objects exist, and HrFlow answers "Unable to find
object" with a 400. So in positive cases (including the documented examples) identifiers are swapped for
those of the objects the test made, files for a real resume, and the few rules between parameters that
OpenAPI cannot state for query strings (a location filter is a point and a radius) are completed; then a
400 can only mean the server refused a call its document allows. Negative cases go out as generated.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

KNOWN: dict[str, Any] = json.loads(os.environ.get("CEREBRO_KNOWN", "{}"))
RESUME = b"Ada Lovelace\nada@example.org\nData engineer: Python, Spark and SQL. Five years of pipelines in London.\n"
LOCATION = {"location_lat": 51.5, "location_lon": -0.12, "location_distance": 50.0}


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """An ndjson body is text on the wire: a negative case that only changes its JSON type ("a boolean
    instead of a string") sends the same kind of bytes, so it tests nothing."""
    negative = case.meta is not None and not case.meta.generation.mode.is_positive
    return not (negative and case.media_type == "application/x-ndjson" and not isinstance(case.body, str))


def _kind(path: str) -> str | None:
    for kind in ("profile", "job", "source", "board"):
        if path.startswith(f"/v1/{kind}/") or path == f"/v1/{kind}":
            return kind
    return None


def _known(method: str, path: str, name: str, value: Any) -> Any:
    """The value of a known object for an identifying field, else the generated value."""
    kind = _kind(path)
    creating = method == "POST" and path.endswith("/indexing")  # a new record keeps its new key
    if method == "DELETE" and kind == "profile" and name in ("key", "reference"):
        return KNOWN[f"erasable_profile_{name}"]  # erased once (then a 404), never the profile other calls use
    if name == "key" and path.startswith("/v1/copilot"):
        return KNOWN["copilot_key"]
    if name in ("key", "reference") and kind is not None:
        return value if creating else KNOWN.get(f"{kind}_{name}", value)
    if name in ("source_keys", "board_keys"):
        keys = [KNOWN[name[:-1]]]
        return json.dumps(keys) if isinstance(value, str) else keys  # query lists travel as JSON
    if name == "agent_key":  # HrFlow's older name for the algorithm
        return KNOWN["algorithm_key"]
    if name == "algorithm_key":
        return value if path.startswith("/v1/text/") else KNOWN["algorithm_key"]  # there, it names a tagger
    if name == "version":
        return 1
    if name == "file":
        return RESUME
    return KNOWN.get(name, value)


def _complete_location(values: dict[str, Any]) -> None:
    """A location filter is a point and a radius: one part given brings the others."""
    parts = ("location_geopoint", "location_lat", "location_lon", "location_distance", "location_dist")
    if any(values.get(name) is not None for name in parts):
        for name in parts:
            values.pop(name, None)
        values.update(LOCATION)
    values.pop("use_location_experience", None)  # the feedback filter locates the profile's address only
    values.pop("use_location_education", None)


# What only profiles have (a job's `experience_duration_*` are the years it asks for); what only jobs have.
PROFILE_ONLY_FILTERS = (
    *(f"{part}_{name}" for part in ("experience", "education") for name in ("keywords", "location_geopoint")),
    *(f"{part}_location_distance" for part in ("experience", "education")),
    "education_duration_min",
    "education_duration_max",
)
JOB_ONLY_FILTERS = {
    "ranges_float": {"name": "salary", "value_min": 1.0},
    "ranges_date": {"name": "start", "value_max": "2030-01-01"},
}
NAMED_FILTERS = {"skills": {"name": "Python"}, "languages": {"name": "English"}, "interests": {"name": "chess"}}


def _complete_filters(path: str, values: dict[str, Any]) -> None:
    """Filters with rules between values or against what the server knows: a range whose ends are in
    order (in one spelling), languages that exist, no minimum level, a query in the DSL's subset, the
    filters of one kind of record on that kind's routes, a place with its radius."""
    for name in ("experiences_duration_min", "experiences_duration_max"):  # the legacy spellings
        values.pop(name, None)
        values.pop(name.replace("experiences", "educations"), None)
    for part in ("experience", "education"):
        low, high = values.get(f"{part}_duration_min"), values.get(f"{part}_duration_max")
        if low is not None and high is not None and float(low) > float(high):
            values[f"{part}_duration_min"], values[f"{part}_duration_max"] = high, low
        point, distance = f"{part}_location_geopoint", f"{part}_location_distance"
        if (values.get(point) is None) != (values.get(distance) is None):
            values.pop(point, None)
            values.pop(distance, None)
        elif values.get(point) is not None:
            here = {"lat": 48.85, "lon": 2.35}
            values[point] = json.dumps(here) if isinstance(values[point], str) else here
    jobs = path.startswith("/v1/jobs/")
    for name in PROFILE_ONLY_FILTERS if jobs else JOB_ONLY_FILTERS:
        values.pop(name, None)
    for name, named in (NAMED_FILTERS | JOB_ONLY_FILTERS).items():
        if values.get(name) not in (None, [], "[]"):
            values[name] = json.dumps([named]) if isinstance(values[name], str) else [named]
    if values.get("raw_filters") is not None:
        query = {"query": {"bool": {"should": [{"match_phrase": {"text": "Python"}}]}}}
        values["raw_filters"] = json.dumps(query) if isinstance(values["raw_filters"], str) else query


def _swap(method: str, path: str, values: dict[str, Any]) -> None:
    for name, value in list(values.items()):
        if name in ("lookup", "profile", "job") and isinstance(value, dict):  # an "at least one of" group
            _swap(method, path, value)
        elif name in ("profile_email", "email"):
            del values[name]  # no known email: the record is looked up by its key instead
            values["key"] = _known(method, path, "key", None)
        else:
            values[name] = _known(method, path, name, value)
    _complete_location(values)
    _complete_filters(path, values)
    keywords = values.get("text_keywords")
    if values.get("sort_by") in ("scoring", "searching") and keywords in (None, [], "[]", "null"):
        values["sort_by"] = "created_at"  # relevance needs keywords to be relevant to
    for record, pool in (("profile", "source_key"), ("job", "board_key")):
        if values.get(f"{record}_key") or values.get(f"{record}_reference"):
            values[pool] = KNOWN[pool]  # a record is named within its pool
    if any(values.get(name) in (False, "false", "False", "0", 0) for name in ("use_algorithm", "use_agent")):
        values.pop("explain", None)  # an explanation explains a score: none without the algorithm
    goals = values.get("goals")
    if isinstance(goals, list):  # each stage of the journey once
        unique = {goal.get("action"): goal for goal in goals if isinstance(goal, dict)}
        values["goals"] = list(unique.values())


def _positive(case: Any) -> Any:
    method, path = case.method.upper(), case.operation.path
    if case.query:
        _swap(method, path, case.query)
    if isinstance(case.body, dict):
        _swap(method, path, case.body)
    return case


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _positive(case)
    return case


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    for case in examples:  # the documented examples are positive calls too
        _positive(case)
