"""What the store keeps of a record for the filters the pool's columns cannot answer: the texts of its
summary, experiences and educations (`summary_keywords`, `experience_keywords`, `education_keywords`), its
interests, the levels of its skills and languages (a `skills` or `languages` filter's minimum `value`), a
job's named ranges (`ranges_float`, `ranges_date`), a profile's years of education and the places of its
experiences and educations."""

from __future__ import annotations

import logging

from cerebro_serve.engine.views import profile_education_view, profile_experience_view, text_section
from cerebro_serve.objects import Education, Experience, Job, Profile
from cerebro_serve.parsing.languages import language_code
from cerebro_serve.parsing.levels import language_level, skill_level
from cerebro_serve.record_features import UNKNOWN
from cerebro_serve.scoring.features import FeatureExtractor, profile_years, skill_hash
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.timestamps import parse_timestamp
from cerebro_serve.store import Facet, RecordFacets
from cerebro_serve.store.records import (
    EDUCATION_PLACE,
    EDUCATION_YEARS,
    EXPERIENCE_PLACE,
    INTEREST,
    LANGUAGE_LEVEL,
    RANGE_DATE,
    RANGE_FLOAT,
    SKILL_LEVEL,
)

log = logging.getLogger(__name__)


def facets_of(record: Profile | Job, extractor: FeatureExtractor, strict: bool = True) -> RecordFacets:
    """The record's sections and facets. A job's date range that is not an ISO date is refused (strict: a
    record being written) or left out with a warning (one stored before these were read)."""
    interests = [Facet(INTEREST, name) for name in dict.fromkeys(fold_name(i.name) for i in record.interests) if name]
    interests += _levels(record, extractor)
    if isinstance(record, Job):
        return RecordFacets(_sections(summary=record.summary), (*interests, *_job_facets(record, strict)))
    facets = interests
    years = profile_years(record, "educations")
    if years != UNKNOWN:
        facets.append(Facet(EDUCATION_YEARS, None, years, years))
    facets += _places(EXPERIENCE_PLACE, record.experiences) + _places(EDUCATION_PLACE, record.educations)
    sections = _sections(
        summary=record.info.summary or text_section(record, "summary"),
        experiences=profile_experience_view(record),
        educations=profile_education_view(record),
    )
    return RecordFacets(sections=sections, facets=tuple(facets))


def skill_concept(extractor: FeatureExtractor, name: str | None, taxonomy_id: str | None) -> int | None:
    """The hash of the concept a skill names, as records' skill features hash it: its taxonomy id, or the
    concept its name is one surface form of, or else the name itself; None for no name."""
    if taxonomy_id:
        return skill_hash(taxonomy_id)
    named = extractor.concept_of_name(name or "")
    return None if named is None else skill_hash(named[0])


def _levels(record: Profile | Job, extractor: FeatureExtractor) -> list[Facet]:
    """The levels the record's skills and spoken languages are given, where a scale reads them."""
    levels: dict[tuple[str, str], int] = {}
    for skill in record.skills:
        level, concept = skill_level(skill.value), skill_concept(extractor, skill.name, skill.taxonomy_id)
        if level is not None and concept is not None:
            levels[(SKILL_LEVEL, str(concept))] = max(level, levels.get((SKILL_LEVEL, str(concept)), 0))
    for language in record.languages:
        level, code = language_level(language.value), language_code(language.name)
        if level is not None and code is not None:
            levels[(LANGUAGE_LEVEL, code)] = max(level, levels.get((LANGUAGE_LEVEL, code), 0))
    return [Facet(kind, name, level, level) for (kind, name), level in levels.items()]


def fold_name(name: str) -> str:
    """A facet's name as stored and looked up: trimmed, casefolded."""
    return name.strip().casefold()


def _sections(**texts: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((section, text.strip().casefold()) for section, text in texts.items() if text and text.strip())


def _places(kind: str, periods: list[Experience] | list[Education]) -> list[Facet]:
    located = (p.location for p in periods)
    return [Facet(kind, None, at.lat, at.lng) for at in located if at.lat is not None and at.lng is not None]


def _job_facets(job: Job, strict: bool) -> tuple[Facet, ...]:
    facets = [
        Facet(RANGE_FLOAT, fold_name(r.name), r.value_min, r.value_max)
        for r in job.ranges_float
        if r.name and fold_name(r.name) and (r.value_min is not None or r.value_max is not None)
    ]
    for position, r in enumerate(job.ranges_date):
        if not r.name or not fold_name(r.name) or (not r.value_min and not r.value_max):
            continue
        try:
            low, high = (
                None if not value else float(parse_timestamp(value, f"ranges_date[{position}].{end}"))
                for value, end in ((r.value_min, "value_min"), (r.value_max, "value_max"))
            )
        except InvalidParameters as error:
            if strict:
                raise
            log.warning("job %s: a date range left out of filters: %s", job.key, error)
            continue
        facets.append(Facet(RANGE_DATE, fold_name(r.name), low, high))
    return tuple(facets)
