"""Resume text into a Profile: contacts, sections, experiences, educations, skills, languages."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal, TypedDict

from cerebro_serve.objects import Education, Experience, GeneralEntity, Info, Location, Profile, Skill, Url
from cerebro_serve.parsing.contacts import find_contacts, find_location
from cerebro_serve.parsing.dates import DateRange, iso
from cerebro_serve.parsing.languages import detect_language, find_spoken_languages
from cerebro_serve.parsing.periods import Entry, split_entries
from cerebro_serve.parsing.sections import Section, split_sections
from cerebro_serve.parsing.taxonomy import Lexicon, Match

DEGREE = re.compile(
    r"\b(bachelor|master|msc|m\.sc|bsc|b\.sc|ba|ma|mba|phd|ph\.d|doctorate|diploma|degree|associate|"
    r"licence|license|licenciatura|grado|maestria|master|diplom|magister|laurea|mestrado|bacharelado|"
    r"doutorado|doctorat|dottorato|bachelor|baccalaureat|bts|dut|ingenieur|ingeniero|inginer|"
    r"licenta|masterat|bac|high school|abitur|hbo|wo|mbo)\b",
    re.IGNORECASE,
)
SCHOOL = re.compile(
    r"(universit|college|school|institut|academy|academie|escuela|ecole|école|hochschule|fachhochschule|"
    r"politecnico|polytechnic|liceo|lycee|lycée|gymnasium|facult|universidade|hogeschool|scoala|școala|"
    # ... and as the parser's other languages write "university", "polytechnic" and "school".
    r"uniwersytet|politechnika|szkoła|üniversite|universite|okulu|lisesi|univerzit|univerza|sveučilište|"
    r"egyetem|főiskola|yliopisto|korkeakoulu|ülikool|ollscoil|unibersidad|kolehiyo|chuo kikuu|"
    r"университет|институт|академия|училище|школа|університет|інститут|универзитет|πανεπιστήμιο|σχολή|"
    r"大学|大學|学院|學院|学校|學校|高校|대학교|대학|학교|جامعة|كلية|معهد|مدرسة|دانشگاه|دانشکده|آموزشکده|"
    r"یونیورسٹی|جامعہ|کالج|אוניברסיטה|מכללה|טכניון|πολυτεχνείο|विश्वविद्यालय|महाविद्यालय|संस्थान|বিশ্ববিদ্যালয়|কলেজ|"
    r"มหาวิทยาลัย|วิทยาลัย|โรงเรียน|đại học|cao đẳng|trường)",
    re.IGNORECASE,
)


def _skills_in(text: str, lexicon: Lexicon, langs: set[str]) -> list[Match]:
    return lexicon.find(text, kind="skill", langs=langs)


def _to_skills(matches: list[Match]) -> list[Skill]:
    seen: dict[str, Skill] = {}
    for match in matches:
        concept = match.concept
        if concept.id not in seen:
            skill_type: Literal["hard", "soft"] = "soft" if concept.type == "soft" else "hard"
            seen[concept.id] = Skill(name=match.text.strip(), type=skill_type, taxonomy_id=concept.id)
    return list(seen.values())


def _title_company_location(
    parts: list[str], lexicon: Lexicon, langs: set[str]
) -> tuple[str | None, str | None, str | None]:
    """The part naming an occupation is the title; the next other part the company; the rest the place."""
    if not parts:
        return None, None, None
    title_index = 0
    for index, part in enumerate(parts):
        covered = sum(m.end - m.start for m in lexicon.find(part, kind="occupation", langs=langs))
        if covered >= 0.5 * len(part):
            title_index = index
            break
    rest = [part for index, part in enumerate(parts) if index != title_index]
    company = rest[0] if rest else None
    location = ", ".join(rest[1:]) or None
    return parts[title_index], company, location


def _school_degree(parts: list[str]) -> tuple[str | None, str | None, str | None]:
    school = next((part for part in parts if SCHOOL.search(part)), None)
    degree = next((part for part in parts if part != school and DEGREE.search(part)), None)
    rest = [part for part in parts if part not in (school, degree)]
    if degree is None and rest:
        degree, rest = rest[0], rest[1:]
    if school is None and rest:
        school, rest = rest[0], rest[1:]
    return school, degree, ", ".join(rest) or None


def _union_years(ranges: list[DateRange], today: date) -> float:
    """Years covered by the ranges, overlaps counted once."""
    spans = sorted((r.start, r.end or today) for r in ranges)
    merged: list[list[date]] = []  # overlapping ranges joined, so shared months count once
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return round(sum((end - start).days for start, end in merged) / 365.25, 2)


def _section(sections: list[Section], name: str) -> list[Section]:
    return [section for section in sections if section.name == name]


def _header_lines(sections: list[Section]) -> list[str]:
    return [line for section in sections if section.name == "header" for line in section.lines if line.strip()]


def _entries(sections: list[Section], name: str, language: str | None) -> list[Entry]:
    return [entry for section in _section(sections, name) for entry in split_entries(section.lines, language)]


class PeriodFields(TypedDict):
    """The fields an experience and an education both take from an entry."""

    date_start: str | None
    date_end: str | None
    description: str | None


def _period(entry: Entry) -> PeriodFields:
    return PeriodFields(
        date_start=iso(entry.dates.start) if entry.dates else None,
        date_end=iso(entry.dates.end) if entry.dates else None,
        description=entry.description or None,
    )


def parse_resume(text: str, lexicon: Lexicon, today: date | None = None) -> Profile:
    today = today or date.today()
    language = detect_language(text)
    langs = {"en", language} if language else {"en"}
    sections = split_sections(text)
    contacts = find_contacts(text)

    experiences = []
    experience_entries = _entries(sections, "experience", language)
    for entry in experience_entries:
        title, company, place = _title_company_location(entry.header, lexicon, langs)
        skills = _to_skills(_skills_in(entry.description + " " + " ".join(entry.header), lexicon, langs))
        experiences.append(
            Experience(title=title, company=company, location=Location(text=place), skills=skills, **_period(entry))
        )
    education_entries = _entries(sections, "education", language)
    educations = []
    for entry in education_entries:
        school, degree, place = _school_degree(entry.header)
        educations.append(Education(school=school, title=degree, location=Location(text=place), **_period(entry)))
    experience_ranges = [entry.dates for entry in experience_entries if entry.dates]
    education_ranges = [entry.dates for entry in education_entries if entry.dates]

    summary = "\n".join(section.text for section in _section(sections, "summary")) or None
    language_text = "\n".join(section.text for section in _section(sections, "languages"))
    spoken = find_spoken_languages(language_text) if language_text else []
    certifications = [
        line.strip(" •-*") for s in _section(sections, "certifications") for line in s.lines if line.strip()
    ]
    interests = [line.strip(" •-*") for s in _section(sections, "interests") for line in s.lines if line.strip()]
    return Profile(
        text=text,
        text_language=language,
        info=Info(
            full_name=contacts.full_name,
            first_name=contacts.first_name,
            last_name=contacts.last_name,
            email=contacts.email,
            phone=contacts.phone,
            urls=[Url(type=kind, url=url) for kind, url in contacts.urls],
            location=Location(text=find_location(_header_lines(sections))),
            summary=summary,
        ),
        experiences=experiences,
        educations=educations,
        experiences_duration=_union_years(experience_ranges, today),
        educations_duration=_union_years(education_ranges, today),
        skills=_to_skills(_skills_in(text, lexicon, langs)),
        languages=[GeneralEntity(name=code, value=level) for code, level in spoken],
        certifications=[GeneralEntity(name=line) for line in certifications],
        interests=[GeneralEntity(name=line) for line in interests],
    )
