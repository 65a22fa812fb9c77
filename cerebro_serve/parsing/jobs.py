"""Job ad text into a Job: title, summary, sections, required and nice-to-have skills, salary ranges."""

from __future__ import annotations

import re

from cerebro_serve.objects import GeneralEntity, Job, Location, RangeFloat, Skill
from cerebro_serve.objects import Section as JobSection
from cerebro_serve.parsing.contacts import find_location
from cerebro_serve.parsing.languages import detect_language, find_spoken_languages
from cerebro_serve.parsing.sections import split_sections
from cerebro_serve.parsing.taxonomy import Lexicon

CURRENCIES = {
    "$": "USD",
    "usd": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "chf": "CHF",
    "ron": "RON",
    "lei": "RON",
    "cad": "CAD",
    "aud": "AUD",
}
_AMOUNT = r"\d{1,3}(?:[ ,.\u00a0']\d{3})+|\d+(?:[.,]\d+)?\s*[kK]|\d{4,7}"
_CURRENCY = r"[$€£]|\b(?:usd|eur|euros?|gbp|chf|ron|lei|cad|aud)\b"
SALARY = re.compile(
    rf"(?P<c1>{_CURRENCY})?\s*(?P<low>{_AMOUNT})\s*(?P<c2>{_CURRENCY})?\s*(?:-|–|—|to|à|a|bis|até|tot)\s*"
    rf"(?P<c3>{_CURRENCY})?\s*(?P<high>{_AMOUNT})\s*(?P<c4>{_CURRENCY})?",
    re.IGNORECASE,
)


def _amount(text: str) -> float:
    text = text.strip().lower().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if text.endswith("k"):
        return float(text[:-1].replace(",", ".")) * 1000
    return float(re.sub(r"[.,]", "", text))


def find_salary(text: str) -> RangeFloat | None:
    for match in SALARY.finditer(text):
        currency = next((match.group(g) for g in ("c1", "c2", "c3", "c4") if match.group(g)), None)
        if currency is None:
            continue  # "2019 - 2021" is not a salary
        low, high = _amount(match.group("low")), _amount(match.group("high"))
        if 0 < low <= high:
            return RangeFloat(name="salary", value_min=low, value_max=high, unit=CURRENCIES[currency.lower()])
    return None


IN_PLACE = re.compile(r"\b(?:in|à|en|in|a|em)\s+(?P<place>[A-ZÀ-Þ][\w'’-]+(?:[ -][A-ZÀ-Þ][\w'’-]+)?)")


def _place_in_summary(summary: str | None) -> str | None:
    """ "... is hiring in Berlin": the capitalised words after "in"."""
    match = IN_PLACE.search(summary or "")
    return match.group("place") if match else None


def parse_job(text: str, lexicon: Lexicon) -> Job:
    language = detect_language(text)
    langs = {"en", language} if language else {"en"}
    sections = split_sections(text)
    header = next((s for s in sections if s.name == "header"), None)
    header_lines = [line.strip() for line in (header.lines if header else []) if line.strip()]
    title = header_lines[0] if header_lines else None
    summary = "\n".join(header_lines[1:]) or None

    def section_text(name: str) -> str | None:
        return "\n".join(s.text for s in sections if s.name == name) or None

    nice_text = section_text("nice_to_have") or ""
    nice = {m.concept.id for m in lexicon.find(nice_text, kind="skill", langs=langs)}
    skills: dict[str, Skill] = {}
    for match in lexicon.find(text, kind="skill", langs=langs):
        if match.concept.id not in skills:
            skills[match.concept.id] = Skill(
                name=match.text.strip(),
                type="soft" if match.concept.type == "soft" else "hard",
                value="nice_to_have" if match.concept.id in nice else "required",
                taxonomy_id=match.concept.id,
            )
    salary = find_salary(text)
    languages = find_spoken_languages(section_text("requirements") or "")
    return Job(
        name=title,
        summary=summary,
        location=Location(text=find_location(header_lines) or _place_in_summary(summary)),
        sections=[JobSection(name=s.name, title=s.title, description=s.text) for s in sections if s.name != "header"],
        responsibilities=section_text("responsibilities"),
        requirements=section_text("requirements"),
        benefits=section_text("benefits"),
        skills=list(skills.values()),
        languages=[GeneralEntity(name=code, value=level) for code, level in languages],
        ranges_float=[salary] if salary else [],
    )
