"""The filters the store answers from a record's sections and facets: keywords in a profile's summary,
experiences or educations, interests, years of education, the places of experiences and educations, a
job's named ranges of numbers and dates. Applied by the searching routes on both stores, equal to a
record-by-record reference on random pools, refused with a 400 naming what is wrong, and filled in for
records stored before the facets existed."""

from __future__ import annotations

import json
import math
import random

import msgspec
import pytest
import sqlalchemy as sa

from cerebro_serve.objects import JOB, PROFILE, Job, Profile
from cerebro_serve.parsing.levels import language_level, skill_level
from cerebro_serve.services.queries import PoolCreate

PARIS, LYON, BERLIN = (48.8566, 2.3522), (45.764, 4.8357), (52.52, 13.405)


def _place(point: tuple[float, float]) -> dict:
    return {"text": None, "lat": point[0], "lng": point[1]}


def _person(reference: str, **fields: object) -> Profile:
    return msgspec.convert({"reference": reference, "info": {"full_name": reference}, **fields}, Profile)


@pytest.fixture
def people(workspace) -> str:
    source = workspace.pools.create(PROFILE, PoolCreate(name="people")).key
    ada = _person(
        "ada",
        info={"full_name": "ada", "summary": "Backend engineer who loves distributed systems."},
        experiences=[
            {
                "title": "Data engineer",
                "company": "Acme",
                "description": "Built Kafka pipelines.",
                "location": _place(PARIS),
                "date_start": "2015-01-01",
                "date_end": "2020-01-01",
            }
        ],
        educations=[
            {
                "title": "MSc Computer Science",
                "school": "Sorbonne",
                "location": _place(PARIS),
                "date_start": "2010-09-01",
                "date_end": "2012-06-01",
            }
        ],
        interests=[{"name": "Chess"}, {"name": "hiking"}],
    )
    bob = _person(
        "bob",
        info={"full_name": "bob", "summary": "Nurse who reads about Kafka."},
        experiences=[{"title": "Nurse", "company": "Hôpital Édouard Herriot", "location": _place(LYON)}],
        educations=[
            {"title": "Nursing diploma", "school": "IFSI", "date_start": "2008-09-01", "date_end": "2011-09-01"}
        ],
        interests=[{"name": "chess"}],
    )
    # Only a resume's text: its sections are read from the text's headings.
    cyd = _person("cyd", text="Summary\nA welder.\n\nExperience\nWelder at Kafka Metals, 2001-2010\n")
    workspace.records.index(PROFILE, source, [ada, bob, cyd])
    return source


@pytest.fixture
def offers(workspace) -> str:
    board = workspace.pools.create(JOB, PoolCreate(name="offers")).key

    def job(reference: str, **fields: object) -> Job:
        return msgspec.convert({"reference": reference, "name": reference, **fields}, Job)

    workspace.records.index(
        JOB,
        board,
        [
            job(
                "low",
                summary="Support role.",
                ranges_float=[{"name": "Salary", "value_min": 40000, "value_max": 60000, "unit": "EUR"}],
                ranges_date=[{"name": "start", "value_min": "2027-01-01", "value_max": "2027-03-01"}],
            ),
            job("high", ranges_float=[{"name": "salary", "value_min": 70000, "value_max": 90000}]),
            job("open", ranges_float=[{"name": "salary", "value_min": 55000}], interests=[{"name": "Chess"}]),
            job("none", summary="No ranges at all."),
        ],
    )
    return board


def _searched(client, kind: str, pool: str, **filters: object) -> list[str]:
    pools = "source_keys" if kind == "profiles" else "board_keys"
    params = {pools: json.dumps([pool]), "order_by": "asc"}
    params.update({name: value if isinstance(value, str) else json.dumps(value) for name, value in filters.items()})
    answer = client.get(f"/v1/{kind}/searching", params=params).json()
    assert answer["code"] == 200, answer
    return [record["reference"] for record in answer["data"][kind]]


def test_profiles_filter_by_section_keywords_interests_education_years_and_places(client, people) -> None:
    def profiles(**filters: object) -> list[str]:
        return _searched(client, "profiles", people, **filters)

    assert profiles() == ["ada", "bob", "cyd"]
    assert profiles(text_keywords=["kafka"]) == ["ada", "bob", "cyd"]
    assert profiles(summary_keywords=["kafka"]) == ["bob"]
    assert profiles(experience_keywords=["kafka"]) == ["ada", "cyd"]  # cyd's from his text's section
    assert profiles(experience_keywords=["KAFKA", "pipelines"]) == ["ada"]  # every keyword
    assert profiles(experience_keywords=["édouard"]) == ["bob"]
    assert profiles(education_keywords=["sorbonne"]) == ["ada"]
    assert profiles(summary_keywords=["welder"], experience_keywords=["kafka"]) == ["cyd"]
    assert profiles(interests=[{"name": "CHESS"}]) == ["ada", "bob"]
    assert profiles(interests=[{"name": "chess"}, {"name": "Hiking"}]) == ["ada"]
    assert profiles(interests=[{"name": "go"}]) == []
    # ada studied 1.75 years, bob 3; cyd's education is unknown, so no range holds it.
    assert profiles(education_duration_min=2) == ["bob"]
    assert profiles(educations_duration_max=2) == ["ada"]  # the legacy spelling
    assert profiles(education_duration_min=1, education_duration_max=3) == ["ada", "bob"]
    near_lyon = {"lat": LYON[0], "lon": LYON[1]}
    assert profiles(experience_location_geopoint=near_lyon, experience_location_distance=10) == ["bob"]
    # Paris is 392 km from Lyon.
    assert profiles(experience_location_geopoint=near_lyon, experience_location_distance=400) == ["ada", "bob"]
    assert profiles(education_location_geopoint=near_lyon, education_location_distance=400) == ["ada"]
    assert (
        profiles(education_location_geopoint={"lat": BERLIN[0], "lng": BERLIN[1]}, education_location_distance=800)
        == []
    )


def test_raw_filters_read_the_sections_interests_and_years_of_education(client, people) -> None:
    def raw(query: dict) -> list[str]:
        return _searched(client, "profiles", people, raw_filters={"query": query})

    assert raw({"match": {"experiences": "kafka nurse"}}) == ["ada", "bob", "cyd"]
    assert raw({"match_phrase": {"summary": "distributed systems"}}) == ["ada"]
    assert raw({"term": {"educations": "Sorbonne"}}) == ["ada"]
    assert raw({"terms": {"interests.name": ["Hiking", "go"]}}) == ["ada"]
    assert raw({"range": {"education_duration": {"gt": 1.75}}}) == ["bob"]
    assert raw({"bool": {"must_not": {"term": {"interests.name": "chess"}}}}) == ["cyd"]


def test_skills_and_languages_filter_by_a_minimum_level(client, workspace) -> None:
    source = workspace.pools.create(PROFILE, PoolCreate(name="levels")).key
    workspace.records.index(
        PROFILE,
        source,
        [
            _person(
                "lea",
                skills=[{"name": "Python", "value": "expert"}, {"name": "SQL", "value": "2/5"}],
                languages=[{"name": "English", "value": "C1"}, {"name": "German", "value": "native"}],
            ),
            _person(
                "max",
                skills=[{"name": "Python", "value": "beginner"}],
                languages=[{"name": "en", "value": "B1 - intermediate"}],
            ),
            _person("noa", skills=[{"name": "Python"}], languages=[{"name": "English"}]),  # no levels given
        ],
    )

    def profiles(**filters: object) -> list[str]:
        return _searched(client, "profiles", source, **filters)

    assert profiles(skills=[{"name": "python"}]) == ["lea", "max", "noa"]
    assert profiles(skills=[{"name": "python", "value": "advanced"}]) == ["lea"]
    assert profiles(skills=[{"name": "Python", "value": 1}]) == ["lea", "max"]  # a level unknown never passes
    assert profiles(skills=[{"name": "SQL", "value": "intermediate"}]) == ["lea"]
    assert profiles(skills=[{"name": "SQL", "value": "3/5"}]) == []  # 2/5 is below 3/5
    assert profiles(languages=[{"name": "English", "value": "B2"}]) == ["lea"]
    assert profiles(languages=[{"name": "anglais", "value": "A2"}]) == ["lea", "max"]
    assert profiles(languages=[{"name": "de", "value": "C2"}], skills=[{"name": "Python", "value": "4/5"}]) == ["lea"]


def test_levels_are_read_on_one_scale_whatever_the_wording() -> None:
    assert [language_level(v) for v in ("C1", "b2", "Fluent", "langue maternelle", "Upper intermediate")] == [
        5,
        4,
        5,
        6,
        4,
    ]
    assert [language_level(v) for v in ("родной", "İleri", "C1 - fluent", 3, "kinda", None, True)] == [
        6,
        5,
        5,
        3,
        None,
        None,
        None,
    ]
    assert [skill_level(v) for v in ("Expert", "avancé", "3/5", "80%", "10/10", 2, "7/5", "5 years")] == [
        4,
        3,
        3,
        4,
        4,
        2,
        None,
        None,
    ]


def test_jobs_filter_by_named_ranges_of_numbers_and_dates(client, offers) -> None:
    def jobs(**filters: object) -> list[str]:
        return _searched(client, "jobs", offers, **filters)

    assert jobs() == ["low", "high", "open", "none"]
    # A range meets the one asked for when they overlap; an open end reaches as far as asked.
    assert jobs(ranges_float=[{"name": "salary", "value_min": 65000}]) == ["high", "open"]
    assert jobs(ranges_float=[{"name": "SALARY", "value_max": 50000}]) == ["low"]
    assert jobs(ranges_float=[{"name": "salary", "value_min": 61000, "value_max": 69000}]) == ["open"]
    assert jobs(ranges_float=[{"name": "bonus", "value_min": 0}]) == []
    assert jobs(ranges_date=[{"name": "start", "value_min": "2027-02-01"}]) == ["low"]
    assert jobs(ranges_date=[{"name": "start", "value_min": "2027-03-02T00:00:00"}]) == []
    both = {
        "ranges_float": [{"name": "salary", "value_max": 45000}],
        "ranges_date": [{"name": "start", "value_max": "2027-01-01"}],
    }
    assert jobs(**both) == ["low"]
    assert jobs(summary_keywords=["ranges"]) == ["none"]
    assert jobs(interests=[{"name": "chess"}]) == ["open"]


@pytest.mark.parametrize(
    ("kind", "filters", "named"),
    [
        ("profiles", {"ranges_float": [{"name": "salary", "value_min": 1}]}, "`ranges_float` filters jobs only"),
        ("jobs", {"experience_keywords": ["python"]}, "`experience_keywords` filters profiles only"),
        ("jobs", {"education_duration_min": "2"}, "`education_duration_min` filters profiles only"),
        ("jobs", {"ranges_float": [{"name": "salary"}]}, "needs `value_min`, `value_max` or both"),
        ("jobs", {"ranges_float": [{"name": "salary", "value_min": 9, "value_max": 1}]}, "above `value_max`"),
        ("jobs", {"ranges_date": [{"name": "start", "value_min": "soon"}]}, "ranges_date[0].value_min"),
        ("profiles", {"interests": [{"name": "chess", "value": "expert"}]}, "minimum level"),
        ("profiles", {"interests": [{"name": " "}]}, "give `name`"),
        ("profiles", {"education_duration_min": "3", "education_duration_max": "1"}, "above"),
        ("profiles", {"education_duration_min": "2", "educations_duration_min": "3"}, "disagree"),
        ("profiles", {"experience_location_distance": "10"}, "needs `experience_location_geopoint`"),
        ("profiles", {"education_location_geopoint": {"lat": 1}, "education_location_distance": 5}, "`lon`"),
        (
            "profiles",
            {"experience_location_geopoint": {"lat": 1, "lon": 2}, "experience_location_distance": -5},
            "experience_location_distance",
        ),
    ],
)
def test_a_facet_filter_that_cannot_be_applied_is_refused_naming_it(
    client, people, offers, kind, filters, named
) -> None:
    pools = {"source_keys": json.dumps([people])} if kind == "profiles" else {"board_keys": json.dumps([offers])}
    params = {
        **pools,
        **{name: value if isinstance(value, str) else json.dumps(value) for name, value in filters.items()},
    }
    answer = client.get(f"/v1/{kind}/searching", params=params)
    assert answer.status_code == 400, answer.json()
    body = answer.json()
    assert body["code"] == 400 and named in body["message"], body


def test_a_job_whose_date_range_is_not_a_date_is_refused_before_it_is_stored(client, offers) -> None:
    job = {
        "board_key": offers,
        "name": "bad",
        "reference": "bad",
        "ranges_date": [{"name": "start", "value_min": "soon"}],
    }
    answer = client.post("/v1/job/indexing", json=job)
    assert answer.status_code == 400 and "ranges_date[0].value_min" in answer.json()["message"]
    assert "bad" not in _searched(client, "jobs", offers)


def test_records_stored_before_facets_existed_get_them_when_their_pool_opens(client, workspace, store, people) -> None:
    with store.engine.begin() as connection:  # as a store migrated from a release without facets holds them
        connection.execute(sa.text("DELETE FROM record_sections"))
        connection.execute(sa.text("DELETE FROM record_facets"))
        connection.execute(sa.text("UPDATE records SET facets_version = 0"))
    assert _searched(client, "profiles", people, interests=[{"name": "chess"}]) == []
    assert workspace.records.complete_facets(people) == 3
    assert workspace.records.complete_facets(people) == 0
    assert _searched(client, "profiles", people, interests=[{"name": "chess"}]) == ["ada", "bob"]
    assert _searched(client, "profiles", people, experience_keywords=["kafka"]) == ["ada", "cyd"]


def test_erasing_or_editing_a_record_replaces_its_facets(client, workspace, people) -> None:
    edited = client.put(
        "/v1/profile/indexing",
        json={"source_key": people, "reference": "bob", "interests": [{"name": "sailing"}], "experiences": []},
    ).json()
    assert edited["code"] == 200, edited
    assert _searched(client, "profiles", people, interests=[{"name": "chess"}]) == ["ada"]
    assert _searched(client, "profiles", people, interests=[{"name": "sailing"}]) == ["bob"]
    assert _searched(client, "profiles", people, experience_keywords=["nurse"]) == []
    assert client.delete("/v1/profile", params={"source_key": people, "reference": "ada"}).json()["code"] == 200
    assert _searched(client, "profiles", people, interests=[{"name": "hiking"}]) == []


# -- the reference on random pools ------------------------------------------------------------------

INTERESTS = ["chess", "go", "hiking", "piano", "rowing"]
WORDS = ["kafka", "spark", "rust", "nursing", "welding", "sales", "ledger", "audit"]
CITIES = [PARIS, LYON, BERLIN, (40.4168, -3.7038), (51.5074, -0.1278)]


def _random_profile(rng: random.Random, number: int) -> dict:
    def period(words: list[str]) -> dict:
        start = rng.randint(1995, 2018)
        return {
            "title": " ".join(rng.sample(words, 2)),
            "description": rng.choice(WORDS),
            "location": _place(rng.choice(CITIES)) if rng.random() < 0.7 else {},
            "date_start": f"{start}-01-01" if rng.random() < 0.8 else None,
            "date_end": f"{start + rng.randint(0, 4)}-07-01",
        }

    return {
        "reference": f"p{number}",
        "info": {"full_name": f"p{number}", "summary": " ".join(rng.sample(WORDS, rng.randint(0, 3)))},
        "experiences": [period(WORDS) for _ in range(rng.randint(0, 3))],
        "educations": [period(WORDS) for _ in range(rng.randint(0, 2))],
        "interests": [{"name": name.title()} for name in rng.sample(INTERESTS, rng.randint(0, 3))],
    }


def _education_years(profile: dict) -> float | None:
    """The union of dated educations, in years (as features.profile_years counts them)."""
    from datetime import date

    spans = sorted(
        (date.fromisoformat(e["date_start"]), date.fromisoformat(e["date_end"]))
        for e in profile["educations"]
        if e["date_start"]
    )
    if not spans:
        return None
    days, (start, end) = 0, spans[0]
    for next_start, next_end in spans[1:]:
        if next_start > end:
            days, start, end = days + (end - start).days, next_start, next_end
        else:
            end = max(end, next_end)
    return round((days + (end - start).days) / 365.25, 2)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _passes(profile: dict, filters: dict) -> bool:
    """The reference: one profile, read field by field."""
    experiences = [" - ".join(p for p in (e["title"], e["description"]) if p) for e in profile["experiences"]]
    educations = [" - ".join(p for p in (e["title"], e["description"]) if p) for e in profile["educations"]]
    texts = {
        "summary_keywords": profile["info"]["summary"],
        "experience_keywords": "\n".join(experiences),
        "education_keywords": "\n".join(educations),
    }
    for name, text in texts.items():
        if not all(keyword in text.casefold() for keyword in filters.get(name, [])):
            return False
    held = {interest["name"].casefold() for interest in profile["interests"]}
    if not {wanted["name"] for wanted in filters.get("interests", [])} <= held:
        return False
    if "education_duration_min" in filters:
        years = _education_years(profile)
        if years is None or years < filters["education_duration_min"]:
            return False
    for part in ("experience", "education"):
        if f"{part}_location_geopoint" in filters:
            point = filters[f"{part}_location_geopoint"]
            places = [(e["location"]["lat"], e["location"]["lng"]) for e in profile[f"{part}s"] if e["location"]]
            radius = filters[f"{part}_location_distance"]
            if not any(_km((point["lat"], point["lon"]), place) <= radius for place in places):
                return False
    return True


def _random_filters(rng: random.Random) -> dict:
    filters: dict = {}
    for name in ("summary_keywords", "experience_keywords", "education_keywords"):
        if rng.random() < 0.3:
            filters[name] = rng.sample(WORDS, rng.randint(1, 2))
    if rng.random() < 0.3:
        filters["interests"] = [{"name": name} for name in rng.sample(INTERESTS, rng.randint(1, 2))]
    if rng.random() < 0.3:
        filters["education_duration_min"] = rng.choice([0.5, 1.5, 3.25, 5.0])
    for part in ("experience", "education"):
        if rng.random() < 0.3:
            lat, lng = rng.choice(CITIES)
            filters[f"{part}_location_geopoint"] = {"lat": lat, "lon": lng}
            filters[f"{part}_location_distance"] = rng.choice([5, 400, 1000, 1500])
    return filters


@pytest.mark.parametrize("seed", range(2))
def test_facet_filters_equal_the_record_by_record_reference_on_random_pools(client, workspace, seed: int) -> None:
    rng = random.Random(seed)
    source = workspace.pools.create(PROFILE, PoolCreate(name=f"random-{seed}")).key
    profiles = [_random_profile(rng, number) for number in range(40)]
    workspace.records.index(PROFILE, source, [msgspec.convert(p, Profile) for p in profiles])
    for _ in range(25):
        filters = _random_filters(rng)
        expected = sorted(p["reference"] for p in profiles if _passes(p, filters))
        params = {"source_keys": json.dumps([source]), "limit": "100"}
        params.update({name: json.dumps(value) for name, value in filters.items()})
        answer = client.get("/v1/profiles/searching", params=params).json()
        assert answer["code"] == 200, answer
        assert sorted(p["reference"] for p in answer["data"]["profiles"]) == expected, filters
