"""Copies of profiles and jobs with who-they-are removed, made before any feature or embedding that a
training sees: names, emails, phones, URLs, photos, birth dates and gender words go; what the person did
and knows stays."""

from __future__ import annotations

import re
from typing import TypeVar, overload

import msgspec

from cerebro_serve.objects import Info, Job, Location, Profile
from cerebro_serve.parsing.contacts import EMAIL, PHONE, URL

Record = TypeVar("Record", Profile, Job)

# Lines that state a birth date or an age ("Date of birth: 03/04/1990", "Né le 3 avril 1990", "Age: 34").
BIRTH_LINE = re.compile(
    # The words end at a word boundary; "Age: 34" has none after its colon, so ages are matched apart.
    r"^.*(\b(date of birth|d\.?o\.?b\.?|born( on| in)?|birth ?date|n[ée]e? le|date de naissance|"
    r"fecha de nacimiento|geburtsdatum|geboren)\b|\b([aâ]ge|edad|alter)\s*:).*$",
    re.IGNORECASE | re.MULTILINE,
)
GENDER_WORDS = re.compile(
    r"\b(he|she|him|her|his|hers|himself|herself|mr|mrs|ms|miss|sir|madam|male|female|man|woman|men|women|"
    r"husband|wife|father|mother|monsieur|madame|mme|mlle|homme|femme|señor|señora|hombre|mujer|herr|frau|"
    r"männlich|weiblich)\b\.?",
    re.IGNORECASE,
)
MIN_PHONE_DIGITS = 9  # shorter digit runs are dates and year ranges ("2019 - 2024"), which stay


def scrub(text: str | None, names: tuple[str, ...] = ()) -> str | None:
    """The text without contact details, birth lines, gender words and the given names."""
    if not text:
        return text
    text = EMAIL.sub(" ", text)
    text = URL.sub(" ", text)
    text = PHONE.sub(lambda m: " " if sum(c.isdigit() for c in m.group()) >= MIN_PHONE_DIGITS else m.group(), text)
    text = BIRTH_LINE.sub("", text)
    text = GENDER_WORDS.sub("", text)
    for name in names:
        text = re.sub(rf"\b{re.escape(name)}\b", " ", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", text)


@overload
def anonymized(record: Profile) -> Profile: ...
@overload
def anonymized(record: Job) -> Job: ...
@overload
def anonymized(record: Profile | Job) -> Profile | Job: ...
def anonymized(record: Profile | Job) -> Profile | Job:
    if isinstance(record, Profile):
        return _profile(record)
    return _job(record)


def _profile(profile: Profile) -> Profile:
    info = profile.info
    names = tuple(
        part
        for name in (info.full_name, info.first_name, info.last_name)
        if name
        for part in name.split()
        if len(part) > 1
    )

    def clean(text: str | None) -> str | None:
        return scrub(text, names)

    location = Location(text=info.location.text, lat=info.location.lat, lng=info.location.lng)
    return msgspec.structs.replace(
        profile,
        text=clean(profile.text),
        info=Info(location=location, summary=clean(info.summary), driving_license=info.driving_license),
        experiences=[msgspec.structs.replace(e, description=clean(e.description)) for e in profile.experiences],
        educations=[msgspec.structs.replace(e, description=clean(e.description)) for e in profile.educations],
        attachments=[],
        labels=[],
    )


def _job(job: Job) -> Job:
    fields = ("summary", "culture", "benefits", "responsibilities", "requirements", "interviews")
    return msgspec.structs.replace(
        job,
        url=None,
        picture=None,
        sections=[msgspec.structs.replace(s, description=scrub(s.description)) for s in job.sections],
        **{name: scrub(getattr(job, name)) for name in fields},
    )
