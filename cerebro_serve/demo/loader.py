"""Generate the demo workspace deterministically and index it, once, on first start with `--demo`."""

from __future__ import annotations

import functools
import logging
import random

from cerebro_serve.demo.fields import CITIES, CITY_COORDINATES, FIELDS, FIRST_NAMES, LAST_NAMES, Field
from cerebro_serve.demo.studio import load_demo_studio
from cerebro_serve.objects import (
    JOB,
    PROFILE,
    Education,
    Experience,
    GeneralEntity,
    Info,
    Job,
    Location,
    Profile,
    RangeFloat,
    Skill,
)
from cerebro_serve.services import Workspace
from cerebro_serve.services.queries import PoolCreate
from cerebro_serve.services.record_import import patiently

log = logging.getLogger(__name__)

DEMO_SOURCE = "Demo candidates"
DEMO_BOARD = "Demo jobs"
PROFILES_PER_FIELD = 20
JOBS_PER_FIELD = 5


def _place(city: str) -> Location:
    lat, lng = CITY_COORDINATES[city]
    return Location(text=city, lat=lat, lng=lng)


def _skills(field: Field, rng: random.Random, count: int) -> list[Skill]:
    hard = [Skill(name=name, type="hard") for name in rng.sample(field.skills, count)]
    return hard + [Skill(name=rng.choice(field.soft_skills), type="soft")]


def demo_profile(field: Field, number: int, rng: random.Random) -> Profile:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city = rng.choice(CITIES)
    years = rng.randint(1, 15)
    skills = _skills(field, rng, rng.randint(5, 8))
    experiences = []
    year = 2026
    for _ in range(rng.randint(1, 3)):
        span = rng.randint(1, 5)
        experiences.append(
            Experience(
                title=rng.choice(field.titles),
                company=rng.choice(field.companies),
                location=Location(text=city),
                date_start=f"{year - span}-0{rng.randint(1, 9)}-01T00:00:00",
                date_end=f"{year}-0{rng.randint(1, 9)}-01T00:00:00" if year < 2026 else None,
                description="; ".join(rng.sample(field.duties, 2)).capitalize() + ".",
            )
        )
        year -= span
    education = Education(
        title=rng.choice(field.degrees),
        school=f"University of {rng.choice(CITIES)}",
        date_end=f"{year}-06-30T00:00:00",
    )
    headline = experiences[0].title
    skill_names = ", ".join(skill.name for skill in skills)
    summary = f"{headline} with {years} years of experience in {field.name}, skilled in {skill_names}."
    text = "\n".join(
        [
            f"{first} {last}",
            f"{headline} - {city}",
            "SUMMARY",
            summary,
            "EXPERIENCE",
            *(
                f"{e.title}, {e.company} ({(e.date_start or '')[:4]} - {(e.date_end or 'present')[:7]})\n"
                f"{e.description}"
                for e in experiences
            ),
            "EDUCATION",
            f"{education.title}, {education.school}",
            "SKILLS",
            skill_names,
        ]
    )
    return Profile(
        reference=f"demo-profile-{field.name.replace(' ', '-')}-{number}",
        text=text,
        text_language="en",
        info=Info(
            full_name=f"{first} {last}",
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{number}@example.com".lower(),
            location=_place(city),
            summary=summary,
        ),
        experiences=experiences,
        educations=[education],
        experiences_duration=float(years),
        skills=skills,
        tags=[GeneralEntity(name="field", value=field.name), GeneralEntity(name="city", value=city)],
    )


def demo_job(field: Field, number: int, rng: random.Random) -> Job:
    title = field.titles[number % len(field.titles)]
    city = rng.choice(CITIES)
    company = rng.choice(field.companies)
    skills = _skills(field, rng, 5)
    duties = rng.sample(field.duties, 3)
    low = rng.randrange(30, 70) * 1000
    return Job(
        reference=f"demo-job-{field.name.replace(' ', '-')}-{number}",
        name=title,
        summary=f"{company} is hiring a {title} in {city} to join its {field.name} team.",
        location=_place(city),
        responsibilities="\n".join(f"- {duty.capitalize()}" for duty in duties),
        requirements=(
            f"{rng.randint(1, 8)}+ years as a {title} or similar; "
            f"a {rng.choice(field.degrees)} or equivalent experience; "
            f"strong {skills[0].name} and {skills[1].name}."
        ),
        skills=skills,
        ranges_float=[RangeFloat(name="salary", value_min=low, value_max=low + 20000, unit="EUR")],
        tags=[GeneralEntity(name="field", value=field.name), GeneralEntity(name="city", value=city)],
    )


def load_demo(workspace: Workspace) -> bool:
    """Create and index the demo source and board unless they exist; True when it loaded them."""
    existing, _ = workspace.store.pools.list_pools(PROFILE.pool, DEMO_SOURCE, 0, 1, True)
    if existing:
        return False
    rng = random.Random(2026)
    profiles = [demo_profile(f, n, rng) for f in FIELDS for n in range(PROFILES_PER_FIELD)]
    jobs = [demo_job(f, n, rng) for f in FIELDS for n in range(JOBS_PER_FIELD)]
    board = workspace.pools.create(JOB, PoolCreate(name=DEMO_BOARD, description="Demo jobs, ten fields"))
    # A bulk load at start-up, like an import: it waits out an encoder busy with other work.
    patiently(functools.partial(workspace.records.index, JOB, board.key, jobs))
    # The source goes last: its existence marks a completed demo load.
    source = workspace.pools.create(PROFILE, PoolCreate(name=DEMO_SOURCE, description="Demo profiles, ten fields"))
    patiently(functools.partial(workspace.records.index, PROFILE, source.key, profiles))
    load_demo_studio(workspace, source.key, board.key, profiles, jobs)
    log.info(
        "demo workspace loaded: source %s (%d profiles), board %s (%d jobs)",
        source.key,
        len(profiles),
        board.key,
        len(jobs),
    )
    return True
