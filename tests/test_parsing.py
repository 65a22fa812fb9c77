"""Resume and job structuring: sections, dates, contacts, skills, languages, in several languages."""

from __future__ import annotations

from datetime import date

import pytest
from helpers import ENGLISH_RESUME, FRENCH_RESUME

from cerebro_serve.parsing.contacts import find_contacts
from cerebro_serve.parsing.dates import find_ranges
from cerebro_serve.parsing.jobs import find_salary, parse_job
from cerebro_serve.parsing.languages import detect_language, find_spoken_languages, fold
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.sections import heading_of, split_sections
from cerebro_serve.parsing.taxonomy import default_lexicon


@pytest.fixture(scope="module")
def lexicon():
    return default_lexicon()


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("janv. 2019 – présent", date(2019, 1, 1), None),
        ("Ianuarie 2021 - Martie 2022", date(2021, 1, 1), date(2022, 3, 1)),
        ("2018 - heute", date(2018, 1, 1), None),
        ("03/2017 to 06/2019", date(2017, 3, 1), date(2019, 6, 1)),
        ("2015-2018", date(2015, 1, 1), date(2018, 12, 31)),
        ("enero de 2020 - actualidad", date(2020, 1, 1), None),
        ("Mai 2016 bis Juli 2019", date(2016, 5, 1), date(2019, 7, 1)),
        ("settembre 2012 – oggi", date(2012, 9, 1), None),
        ("março 2014 - dezembro 2016", date(2014, 3, 1), date(2016, 12, 1)),
        ("mei 2010 - heden", date(2010, 5, 1), None),
        ("Sept. 2019 à août 2021", date(2019, 9, 1), date(2021, 8, 1)),
        ("08/2021 07/2022 (project employment)", date(2021, 8, 1), date(2022, 7, 1)),
        ("Mar 2020 July 2020", date(2020, 3, 1), date(2020, 7, 1)),
    ],
)
def test_date_ranges_in_eight_languages(text: str, start: date, end: date | None) -> None:
    [found] = find_ranges(text)
    assert (found.start, found.end) == (start, end)


def test_reversed_ranges_are_not_dates() -> None:
    assert find_ranges("2020 - 2010") == [r for r in find_ranges("2020 - 2010") if r.end and r.end >= r.start]
    assert all(r.end is None or r.end >= r.start for r in find_ranges("2020 - 2010"))


@pytest.mark.parametrize(
    ("line", "section"),
    [
        ("EXPERIENCE", "experience"),
        ("Work History:", "experience"),
        ("Expérience professionnelle", "experience"),
        ("Experiencia laboral", "experience"),
        ("Berufserfahrung", "experience"),
        ("Esperienza lavorativa", "experience"),
        ("Experiência profissional", "experience"),
        ("Werkervaring", "experience"),
        ("Experiență profesională", "experience"),
        ("Formation", "education"),
        ("Ausbildung", "education"),
        ("Opleiding", "education"),
        ("Studii", "education"),
        ("Compétences", "skills"),
        ("Kenntnisse", "skills"),
        ("Langues", "languages"),
        ("Sprachkenntnisse", "languages"),
        ("EXPERIENCE SKILLS", "experience"),
        ("PROFESSIONAL HISTORY", "experience"),
    ],
)
def test_section_headings_in_eight_languages(line: str, section: str) -> None:
    assert heading_of(line) == section


def test_long_lines_are_not_headings() -> None:
    assert heading_of("Experience building REST APIs for large retail companies") is None


def test_contacts() -> None:
    contacts = find_contacts(ENGLISH_RESUME)
    assert (contacts.full_name, contacts.first_name, contacts.last_name) == ("Jane Roe", "Jane", "Roe")
    assert contacts.email == "jane.roe@example.com"
    assert contacts.phone == "+44 20 7946 0958"
    assert contacts.urls == [("linkedin", "linkedin.com/in/janeroe")]


@pytest.mark.parametrize(
    ("lines", "place"),
    [
        (["John Doe", "john@x.com , +1 (415) 555-0142 , San Francisco, CA , linkedin.com/in/jd"], "San Francisco, CA"),
        (["Jane", "Location: Netanya, Israel"], "Netanya, Israel"),
        (["Claire Dubois", "Adresse : Lyon, France"], "Lyon, France"),
        (["Jane Roe", "jane@example.com"], None),
    ],
)
def test_location_in_the_opening_lines(lines: list[str], place: str | None) -> None:
    from cerebro_serve.parsing.contacts import find_location

    assert find_location(lines) == place


def test_phone_is_not_a_year_range() -> None:
    assert find_contacts("Worked 2015 - 2019 at Acme\nNo phone here").phone is None


def test_language_detection_and_spoken_languages() -> None:
    assert detect_language(ENGLISH_RESUME) == "en"
    assert detect_language(FRENCH_RESUME) == "fr"
    assert find_spoken_languages("English (native), French (B2)\nDeutsch: verhandlungssicher\nItalian") == [
        ("en", "native"),
        ("fr", "B2"),
        ("de", "verhandlungssicher"),
        ("it", None),
    ]


def test_lexicon_matches_skills_on_word_boundaries_with_case_rules(lexicon) -> None:
    names = [m.concept.name for m in lexicon.find("Python, PostgreSQL and Docker; see github.com/x", kind="skill")]
    assert {"PostgreSQL", "Docker"} <= set(names) and any("Python" in n for n in names)
    assert not lexicon.find("pythonic", kind="skill")
    # "Go" the language only with its capital; "go" the verb is no skill.
    assert [m.text for m in lexicon.find("I like to go hiking", kind="skill", langs={"en"})] == []
    assert "Go" in [m.text for m in lexicon.find("Services in Go and Rust", kind="skill", langs={"en"})]
    spanish = lexicon.find("Gestión de proyectos", kind="skill", langs={"es"})
    assert spanish and spanish[0].concept.name == "project management"


def test_english_resume_is_structured(lexicon) -> None:
    profile = parse_resume(ENGLISH_RESUME, lexicon, today=date(2026, 1, 1))
    assert profile.text_language == "en"
    assert profile.info.full_name == "Jane Roe" and profile.info.email == "jane.roe@example.com"
    assert profile.info.summary.startswith("Backend engineer")
    assert profile.info.location.text == "London, United Kingdom"
    first, second = profile.experiences
    assert (first.title, first.company, first.location.text) == (
        "Senior Software Engineer",
        "Northwind Software",
        "London",
    )
    assert (first.date_start, first.date_end) == ("2019-03-01T00:00:00", None)
    assert second.date_start == "2015-01-01T00:00:00" and second.date_end == "2019-12-31T00:00:00"
    assert "Django" in {s.name for s in first.skills}
    [education] = profile.educations
    assert education.school == "University of Leeds" and education.title == "MSc Computer Science"
    names = {skill.name for skill in profile.skills}
    assert {"Python", "Django", "PostgreSQL", "Docker", "Kubernetes"} <= names
    assert all(skill.taxonomy_id for skill in profile.skills)
    assert [(language.name, language.value) for language in profile.languages] == [("en", "native"), ("fr", "B2")]
    # 2015-01 .. 2026-01 without double-counting 2019.
    assert profile.experiences_duration == pytest.approx(11.0, abs=0.05)


def test_french_resume_is_structured(lexicon) -> None:
    profile = parse_resume(FRENCH_RESUME, lexicon, today=date(2026, 1, 1))
    assert profile.text_language == "fr"
    assert profile.info.full_name == "Claire Dubois" and profile.info.phone == "06 12 34 56 78"
    first, second = profile.experiences
    assert first.date_start == "2019-01-01T00:00:00" and first.date_end is None
    assert first.title == "Ingénieure logiciel" and first.company == "Cobalt Systems"
    assert second.date_start == "2015-09-01T00:00:00" and second.date_end == "2018-12-01T00:00:00"
    assert profile.educations[0].school == "Université de Lyon"
    names = {skill.name.lower() for skill in profile.skills}
    assert {"python", "java", "sql", "gestion de projets"} <= names
    assert [language.name for language in profile.languages] == ["fr", "en"]


def test_job_ad_is_structured(lexicon) -> None:
    text = (
        "Senior Python Engineer\nAcme is hiring in Berlin. Salary: €60,000 - €75,000 per year.\n"
        "Responsibilities\n- Build REST APIs with Django\nRequirements\n- 5+ years of Python\n- Docker\n"
        "- Fluent English\nNice to have\n- Kubernetes\nBenefits\n- 30 days of holidays"
    )
    job = parse_job(text, lexicon)
    assert job.name == "Senior Python Engineer" and job.location.text == "Berlin"
    assert job.ranges_float[0].value_min == 60000 and job.ranges_float[0].unit == "EUR"
    required = {s.name for s in job.skills if s.value == "required"}
    assert {"Python", "Django", "Docker"} <= required
    assert {s.name for s in job.skills if s.value == "nice_to_have"} == {"Kubernetes"}
    assert job.requirements.startswith("- 5+ years") and job.benefits == "- 30 days of holidays"
    assert [language.name for language in job.languages] == ["en"]


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("60k-75k EUR", 60000, 75000, "EUR"),
        ("$90,000 to $120,000", 90000, 120000, "USD"),
        ("45.000 € - 55.000 €", 45000, 55000, "EUR"),
    ],
)
def test_salaries(text: str, low: float, high: float, unit: str) -> None:
    salary = find_salary(text)
    assert (salary.value_min, salary.value_max, salary.unit) == (low, high, unit)


def test_year_ranges_are_not_salaries() -> None:
    assert find_salary("2019 - 2021") is None


def test_sections_split_in_order() -> None:
    names = [section.name for section in split_sections(ENGLISH_RESUME)]
    assert names == ["header", "summary", "experience", "education", "skills", "languages"]


def test_folding_lowercases_and_drops_accents_ascii_or_not() -> None:
    assert fold("Français, ESPAÑOL, Türkçe") == "francais, espanol, turkce"
    assert fold("Python DEVELOPER") == "python developer"
