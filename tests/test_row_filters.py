"""HrFlow's filters by years of experience, skills, languages and stage: row masks over a pool's columns,
equal to a record-by-record reference on random pools, and applied (or refused with a 400 naming what
cannot be applied) by the searching and scoring routes."""

from __future__ import annotations

import json
import random

import msgspec
import numpy as np
import pytest

from cerebro_serve.index.columns import FeatureColumns
from cerebro_serve.index.filters import AllOf, AnyOf, Condition, NoneOf, RowFilter, row_mask
from cerebro_serve.objects import JOB, PROFILE, Job, Profile
from cerebro_serve.record_features import UNKNOWN, RecordFeatures
from cerebro_serve.scoring.features import LANGUAGE_BITS, language_bit, skill_hash
from cerebro_serve.services.queries import PoolCreate

DIM = 8
VOCABULARY = [skill_hash(f"concept-{number}") for number in range(12)]


def _features(rng: random.Random) -> RecordFeatures:
    skills = sorted(rng.sample(VOCABULARY, rng.randint(0, 5)))
    return RecordFeatures(
        skill_ids=skills,
        skill_weights=[1.0] * len(skills),
        terms=[],
        term_freqs=[],
        length=0,
        years=UNKNOWN if rng.random() < 0.2 else round(rng.uniform(0, 25), 1),
        education=0,
        languages=rng.getrandbits(6),
        lat=None,
        lng=None,
        title="",
        skills_text="",
    )


def _passes(features: RecordFeatures, row_filter: RowFilter) -> bool:
    """The reference: one record, read field by field."""
    if row_filter.years_min is not None or row_filter.years_max is not None:
        if features.years == UNKNOWN:
            return False
        if row_filter.years_min is not None and np.float32(features.years) < np.float32(row_filter.years_min):
            return False
        if row_filter.years_max is not None and np.float32(features.years) > np.float32(row_filter.years_max):
            return False
    if not set(row_filter.skills) <= set(features.skill_ids):
        return False
    return features.languages & row_filter.languages == row_filter.languages


@pytest.mark.parametrize("seed", range(5))
def test_masks_equal_the_record_by_record_reference_on_random_pools(seed: int) -> None:
    rng = random.Random(seed)
    columns = FeatureColumns(DIM)
    records = {}
    for record_id in range(1, 301):
        records[record_id] = _features(rng)
        columns.upsert(record_id, 0, 0, records[record_id], np.zeros((3, DIM), dtype=np.float32))
    for record_id in rng.sample(sorted(records), 60):  # rewritten: their lists move to the end of the packing
        records[record_id] = _features(rng)
        columns.upsert(record_id, 0, 0, records[record_id], np.zeros((3, DIM), dtype=np.float32))
    snapshot = columns.snapshot()
    for _ in range(40):
        low = rng.choice([None, rng.uniform(0, 20)])
        row_filter = RowFilter(
            years_min=low,
            years_max=rng.choice([None, (low or 0) + rng.uniform(0, 15)]),
            skills=tuple(rng.sample(VOCABULARY, rng.randint(0, 2))),
            languages=rng.choice([0, 1 << rng.randrange(6), rng.getrandbits(6) & rng.getrandbits(6)]),
        )
        expected = [_passes(records[int(record_id)], row_filter) for record_id in snapshot.record_ids[: snapshot.rows]]
        assert row_mask(snapshot, row_filter).tolist() == expected


def _profile(reference: str, skills: list[str], languages: list[str], years: int) -> Profile:
    return msgspec.convert(
        {
            "reference": reference,
            "info": {"full_name": reference, "summary": "Engineer."},
            "experiences": [
                {
                    "title": "Engineer",
                    "company": "Acme",
                    "date_start": f"{2024 - years}-01-01",
                    "date_end": "2024-01-01",
                }
            ],
            "skills": [{"name": name, "type": "hard"} for name in skills],
            "languages": [{"name": name} for name in languages],
        },
        Profile,
    )


@pytest.fixture
def people(workspace) -> str:
    source = workspace.pools.create(PROFILE, PoolCreate(name="people")).key
    workspace.records.index(
        PROFILE,
        source,
        [
            _profile("ada", ["Python", "PostgreSQL"], ["English", "French"], 12),
            _profile("bob", ["Python"], ["English"], 3),
            _profile("cyd", ["Java", "PostgreSQL"], ["German"], 7),
            _profile("dee", [], ["French"], 0),
        ],
    )
    return source


def _searched(client, source: str, **filters: object) -> list[str]:
    params = {"source_keys": json.dumps([source]), "order_by": "asc"}
    params.update({name: value if isinstance(value, str) else json.dumps(value) for name, value in filters.items()})
    answer = client.get("/v1/profiles/searching", params=params).json()
    assert answer["code"] == 200, answer
    return [profile["reference"] for profile in answer["data"]["profiles"]]


def test_searching_filters_by_years_skills_and_languages(client, people) -> None:
    assert _searched(client, people) == ["ada", "bob", "cyd", "dee"]
    assert _searched(client, people, experience_duration_min="5") == ["ada", "cyd"]
    assert _searched(client, people, experiences_duration_max="7") == ["bob", "cyd", "dee"]  # the legacy spelling
    assert _searched(client, people, experience_duration_min="1", experience_duration_max="8") == ["bob", "cyd"]
    assert _searched(client, people, skills=[{"name": "python"}]) == ["ada", "bob"]
    assert _searched(client, people, skills=[{"name": "Python"}, {"name": "PostgreSQL"}]) == ["ada"]
    assert _searched(client, people, skills=[{"name": "COBOL"}]) == []
    assert _searched(client, people, languages=[{"name": "French"}]) == ["ada", "dee"]
    assert _searched(client, people, languages=[{"name": "fr"}, {"name": "en"}]) == ["ada"]
    assert _searched(client, people, languages=[{"name": "français"}], skills=[{"name": "Python"}]) == ["ada"]


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"skills": [{"name": "Python", "value": "ninja"}]}, "no level can be read in 'ninja'"),
        ({"languages": [{"name": "French", "value": "so-so"}]}, "no level can be read in 'so-so'"),
        ({"languages": [{"name": "Klingon"}]}, "unknown language"),
        ({"skills": [{}]}, "give `name` or `taxonomy_id`"),
        ({"experience_duration_min": "9", "experience_duration_max": "2"}, "above"),
        ({"experience_duration_min": "2", "experiences_duration_min": "3"}, "disagree"),
        ({"experience_duration_min": "-1"}, "experience_duration_min"),
        ({"raw_filters": {"query": {"wildcard": {"text": "py*"}}}}, "`query.wildcard` is not supported"),
        ({"raw_filters": {"query": {"term": {"salary": 3}}}}, "no field `salary`"),
        ({"raw_filters": {"range": {"experience_duration": {"gte": "five"}}}}, "number of years"),
        ({"raw_filters": {"bool": {"should": [], "minimum_should_match": "50%"}}}, "percentages"),
        ({"raw_filters": {"bool": {"must": {"match": {"text": "a"}}, "boost": 2}}}, "takes must"),
        ({"raw_filters": "python"}, "raw_filters"),
    ],
)
def test_a_filter_that_cannot_be_applied_is_refused_naming_it(client, people, filters, named) -> None:
    params = {"source_keys": json.dumps([people])}
    params.update({name: value if isinstance(value, str) else json.dumps(value) for name, value in filters.items()})
    answer = client.get("/v1/profiles/searching", params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 400 and named in body["message"]


def test_language_names_and_codes_map_to_the_bits_records_carry() -> None:
    assert language_bit("French") == language_bit("fr") == 1 << LANGUAGE_BITS["fr"]
    assert language_bit("Klingon") == 0


def _job(reference: str) -> Job:
    return msgspec.convert(
        {"reference": reference, "name": "Engineer", "summary": "An engineer with Python and PostgreSQL."}, Job
    )


def _references(answer: dict) -> list[str]:
    assert answer["code"] == 200, answer
    return [item["reference"] for item in answer["data"]["profiles" if "profiles" in answer["data"] else "jobs"]]


def test_the_stage_filter_keeps_the_pairs_whose_last_tracking_reached_it(client, workspace, people) -> None:
    board = workspace.pools.create(JOB, PoolCreate(name="jobs")).key
    workspace.records.index(JOB, board, [_job("j1"), _job("j2")])
    events = [
        ("ada", "j1", "yes", "2026-01-01"),
        ("ada", "j1", "no", "2026-02-01"),  # the latest of the pair: ada is at `no` for j1
        ("bob", "j1", "yes", "2026-01-15"),
        ("cyd", "j2", "yes", "2026-01-20"),
        ("dee", "j1", "new", "2026-01-25"),
    ]
    for profile, job, action, day in events:
        tracking = {"source_key": people, "board_key": board, "profile_reference": profile, "job_reference": job}
        tracking |= {"action": action, "role": "recruiter", "created_at": f"{day}T00:00:00+00:00"}
        assert client.post("/v1/tracking", json=tracking).status_code == 201

    def scored(stage: str, job: str = "j1", **more: str) -> list[str]:
        params = {"source_keys": json.dumps([people]), "board_key": board, "job_reference": job, "stage": stage}
        return _references(client.get("/v1/profiles/scoring", params={"order_by": "asc", **params, **more}).json())

    assert scored("yes") == ["bob"]
    assert scored("no") == ["ada"]
    assert scored("new") == ["cyd", "dee"]  # never staged for j1, or staged back to new
    assert scored("yes", job="j2") == ["cyd"]
    assert scored("interview") == []  # any tracking action is a stage
    assert scored("yes", include_manual="true") == ["bob"]
    assert scored("yes", text_keywords=json.dumps(["engineer"]), sort_by="scoring") == ["bob"]
    # Without an anchor: a pair of the record's with any job.
    assert _searched(client, people, stage="yes") == ["bob", "cyd"]
    assert _searched(client, people, stage="new") == ["dee"]
    jobs = {"board_keys": json.dumps([board]), "source_key": people, "order_by": "asc"}
    assert _references(
        client.get("/v1/jobs/scoring", params={**jobs, "profile_reference": "ada", "stage": "no"}).json()
    ) == ["j1"]
    assert _references(
        client.get("/v1/jobs/scoring", params={**jobs, "profile_reference": "cyd", "stage": "new"}).json()
    ) == ["j1"]


def _random_condition(rng: random.Random, depth: int = 0) -> Condition:
    if depth >= 2 or rng.random() < 0.4:
        low = rng.uniform(0, 15)
        return rng.choice(
            [
                RowFilter(skills=(rng.choice(VOCABULARY),)),
                RowFilter(languages=1 << rng.randrange(6)),
                RowFilter(years_min=low, years_max=rng.choice([None, low + rng.uniform(0, 10)])),
            ]
        )
    parts = tuple(_random_condition(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return rng.choice([AllOf(parts), AnyOf(parts, rng.randint(0, 2)), NoneOf(parts)])


def _meets(features: RecordFeatures, condition: Condition) -> bool:
    if isinstance(condition, RowFilter):
        return _passes(features, condition)
    met = [_meets(features, part) for part in condition.conditions]
    if isinstance(condition, AllOf):
        return all(met)
    if isinstance(condition, AnyOf):
        return sum(met) >= condition.at_least
    return not any(met)


@pytest.mark.parametrize("seed", range(3))
def test_combined_conditions_equal_the_record_by_record_reference(seed: int) -> None:
    rng = random.Random(100 + seed)
    columns = FeatureColumns(DIM)
    records = {record_id: _features(rng) for record_id in range(1, 201)}
    for record_id, features in records.items():
        columns.upsert(record_id, 0, 0, features, np.zeros((3, DIM), dtype=np.float32))
    snapshot = columns.snapshot()
    for _ in range(60):
        condition = _random_condition(rng)
        expected = [_meets(records[int(record_id)], condition) for record_id in snapshot.record_ids[: snapshot.rows]]
        assert row_mask(snapshot, RowFilter(condition=condition)).tolist() == expected


def test_raw_filters_compile_the_query_dsl_hrflow_documents(client, people) -> None:
    def raw(query: dict) -> list[str]:
        return _searched(client, people, raw_filters={"query": query})

    assert raw({"match": {"text": "PostgreSQL"}}) == ["ada", "cyd"]
    assert raw({"match": {"text": "java postgresql"}}) == ["ada", "cyd"]  # any of the words
    assert raw({"match": {"text": {"query": "java postgresql", "operator": "and"}}}) == ["cyd"]
    assert raw({"match_phrase": {"name": "ad"}}) == ["ada"]
    assert raw({"terms": {"skills.name": ["Java", "python"]}}) == ["ada", "bob", "cyd"]
    assert raw({"term": {"languages.name": "fr"}}) == ["ada", "dee"]
    assert raw({"range": {"experience_duration": {"gt": 3, "lte": 12}}}) == ["ada", "cyd"]
    assert raw({"range": {"created_at": {"lt": "2000-01-01T00:00:00+00:00"}}}) == []
    both = {"bool": {"must": [{"term": {"skills.name": "Python"}}], "must_not": {"term": {"languages.name": "French"}}}}
    assert raw(both) == ["bob"]
    assert raw({"bool": {"should": [{"term": {"skills.name": "Java"}}, {"term": {"languages.name": "French"}}]}}) == [
        "ada",
        "cyd",
        "dee",
    ]
    optional = {"must": {"term": {"languages.name": "English"}}, "should": {"term": {"skills.name": "Java"}}}
    assert raw({"bool": optional}) == ["ada", "bob"]  # beside a must, a should only ranks (ES)
    assert raw({"bool": {**optional, "minimum_should_match": 1}}) == []
    # The filters and the query combine; the SDK's own example (the changelog's) parses.
    assert _searched(client, people, skills=[{"name": "Python"}], raw_filters={"match": {"text": "postgresql"}}) == [
        "ada"
    ]
    sdk = {"query": {"bool": {"should": [{"match_phrase": {"text": "Python"}}]}}}
    assert _searched(client, people, raw_filters=sdk) == ["ada", "bob"]
