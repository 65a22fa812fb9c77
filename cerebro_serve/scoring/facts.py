"""What an explanation names about a pair: the job's skills the profile has and lacks (each with where it
occurs, as a span of a stored field), and each requirement against what the profile shows.

Every item comes from the two records and the features the re-ranker read: skills are the concepts the
feature extractor hashed (scoring/features.py), years, degree, languages and coordinates are the values
it stored. Nothing is inferred here that the score did not use.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from msgspec import Struct

from cerebro_serve.geo import distance_km
from cerebro_serve.objects import Job, Profile, Skill
from cerebro_serve.parsing.languages import SPOKEN
from cerebro_serve.parsing.sections import heading_of
from cerebro_serve.record_features import UNKNOWN, RecordFeatures
from cerebro_serve.scoring.features import FeatureExtractor, default_skill_weight, skill_weights

MAX_EVIDENCE = 3  # spans kept per skill and side
LANGUAGE_CODES = SPOKEN  # bit i of a languages feature is LANGUAGE_CODES[i]


class Evidence(Struct, kw_only=True):
    """Where a skill occurs: `text[start:end]` of the stored record's `field` (a path such as `text`,
    `skills[2].name` or `experiences[0].description`) is `text`."""

    field: str
    section: str | None  # the resume section of a span of `text` ("experience", "skills", ...)
    start: int
    end: int
    text: str


class SkillFact(Struct, kw_only=True):
    name: str
    taxonomy_id: str | None  # None: a skill named outside the taxonomy
    weight: float  # specificity: rare, precise skills weigh more than common ones
    share: float  # its part of the job's skill weight: how much skill coverage it carries
    profile_evidence: list[Evidence] = []
    job_evidence: list[Evidence] = []
    gain: float | None = None  # missing skills, upskilling: the logit added by re-scoring with it


@dataclass(frozen=True, slots=True)
class PairFacts:
    found: list[SkillFact]  # the job's skills the profile has, heaviest first
    missing: list[SkillFact]  # the job's skills the profile lacks, heaviest first
    years_expected: float | None
    years_actual: float | None
    education_expected: int  # 0 unknown, 1 secondary ... 5 doctorate (scoring/features.py)
    education_actual: int
    languages_expected: list[str]
    languages_actual: list[str]
    distance_km: float | None
    location_expected: str | None
    location_actual: str | None
    title_expected: str
    title_actual: str


@dataclass(frozen=True, slots=True)
class Side:
    """One record of a pair with what the re-ranker read of it, and its skills as concepts (id -> name)."""

    record: Profile | Job
    features: RecordFeatures
    concepts: dict[str, str]


def side_of(extractor: FeatureExtractor, record: Profile | Job, features: RecordFeatures) -> Side:
    """Made once per record: a page's explanations share their anchor's."""
    return Side(record, features, extractor.concepts_of(record))


def pair_facts(extractor: FeatureExtractor, profile_side: Side, job_side: Side, evidence: bool = True) -> PairFacts:
    """`evidence=False` skips the search for spans (a page's short explanations)."""
    profile, job = profile_side.record, job_side.record
    assert isinstance(profile, Profile) and isinstance(job, Job)
    profile_features, job_features = profile_side.features, job_side.features
    job_concepts, profile_concepts = job_side.concepts, profile_side.concepts
    weights, default = skill_weights(), default_skill_weight()
    total = sum(weights.get(concept, default) for concept in job_concepts) or 1.0
    profile_spans = _evidence(extractor, profile_side) if evidence else {}
    job_spans = _evidence(extractor, job_side) if evidence else {}
    found: list[SkillFact] = []
    missing: list[SkillFact] = []
    for concept, name in job_concepts.items():
        weight = weights.get(concept, default)
        fact = SkillFact(
            name=name,
            taxonomy_id=None if concept.startswith("name:") else concept,
            weight=round(weight, 4),
            share=round(weight / total, 4),
            profile_evidence=profile_spans.get(concept, []),
            job_evidence=job_spans.get(concept, []),
        )
        (found if concept in profile_concepts else missing).append(fact)
    found.sort(key=lambda fact: -fact.weight)
    missing.sort(key=lambda fact: -fact.weight)
    location = profile.info.location
    return PairFacts(
        found=found,
        missing=missing,
        years_expected=_known(job_features.years),
        years_actual=_known(profile_features.years),
        education_expected=job_features.education,
        education_actual=profile_features.education,
        languages_expected=language_codes(job_features.languages),
        languages_actual=language_codes(profile_features.languages),
        distance_km=_distance(profile_features, job_features),
        location_expected=job.location.text,
        location_actual=location.text,
        title_expected=job_features.title,
        title_actual=profile_features.title,
    )


def language_codes(bits: int) -> list[str]:
    return [code for bit, code in enumerate(LANGUAGE_CODES) if bits >> bit & 1]


def _known(years: float) -> float | None:
    return None if years == UNKNOWN else round(float(years), 1)


def _distance(a: RecordFeatures, b: RecordFeatures) -> float | None:
    """Great-circle km, as the re-ranker computes proximity."""
    if a.lat is None or a.lng is None or b.lat is None or b.lng is None:
        return None
    return round(float(distance_km(a.lat, a.lng, np.array([b.lat]), np.array([b.lng]))[0]), 1)


def _evidence(extractor: FeatureExtractor, side: Side) -> dict[str, list[Evidence]]:
    """Concept id -> spans where the record names it: its listed skills first, then its prose."""
    record = side.record
    spans: dict[str, list[Evidence]] = {}

    def add(concept: str, span: Evidence) -> None:
        kept = spans.setdefault(concept, [])
        if len(kept) < MAX_EVIDENCE:
            kept.append(span)

    for path, skill in _named_skills(record):
        named = (skill.taxonomy_id, skill.name) if skill.taxonomy_id else extractor.concept_of_name(skill.name)
        if named is not None:
            add(named[0], Evidence(field=path, section="skills", start=0, end=len(skill.name), text=skill.name))
    named_outside = {concept: name for concept, name in side.concepts.items() if concept.startswith("name:")}
    for path, section, text in _prose(record):
        sections = _Sections(text) if section is None else None
        for match in extractor.lexicon.find(text, kind="skill"):
            where = sections.at(match.start) if sections else section
            add(
                match.concept.id, Evidence(field=path, section=where, start=match.start, end=match.end, text=match.text)
            )
        for concept, name in named_outside.items():
            for hit in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
                where = sections.at(hit.start()) if sections else section
                add(concept, Evidence(field=path, section=where, start=hit.start(), end=hit.end(), text=hit.group()))
    return spans


def _named_skills(record: Profile | Job) -> Iterator[tuple[str, Skill]]:
    for number, skill in enumerate(record.skills):
        yield f"skills[{number}].name", skill
    if isinstance(record, Profile):
        for position, experience in enumerate(record.experiences):
            for number, skill in enumerate(experience.skills):
                yield f"experiences[{position}].skills[{number}].name", skill


def _prose(record: Profile | Job) -> Iterator[tuple[str, str | None, str]]:
    """(field path, section or None to read it off the text's headings, text)."""
    if isinstance(record, Profile):
        candidates = [("text", None, record.text), ("info.summary", "summary", record.info.summary)]
        for number, experience in enumerate(record.experiences):
            candidates += [
                (f"experiences[{number}].title", "experience", experience.title),
                (f"experiences[{number}].description", "experience", experience.description),
            ]
        for number, education in enumerate(record.educations):
            candidates.append((f"educations[{number}].description", "education", education.description))
    else:
        candidates = [
            ("name", "title", record.name),
            ("summary", "summary", record.summary),
            ("requirements", "requirements", record.requirements),
            ("responsibilities", "responsibilities", record.responsibilities),
        ]
        for number, part in enumerate(record.sections):
            candidates.append((f"sections[{number}].description", part.name or part.title, part.description))
    yield from ((path, section, text) for path, section, text in candidates if text)


class _Sections:
    """The resume section at each offset of a text, from the headings the parser recognises."""

    def __init__(self, text: str) -> None:
        self.starts, self.names = [0], ["header"]
        offset = 0
        for line in text.split("\n"):
            name = heading_of(line)
            if name is not None:
                self.starts.append(offset)
                self.names.append(name)
            offset += len(line) + 1

    def at(self, offset: int) -> str:
        return self.names[bisect.bisect_right(self.starts, offset) - 1]
