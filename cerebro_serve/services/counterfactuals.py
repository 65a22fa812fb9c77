"""Counterfactual copies of a profile: the same person with another first name, with gendered words turned
the other way, or born some years earlier or later, and nothing else changed. The stereotype bias probe
(services/bias_probes.py) scores such copies against the original to see what the name, the words or the
age alone do to a score.

Only text a reader (and the encoder or the feature extractor) sees is edited: the resume text, the summary,
the titles and descriptions of experiences and educations, and the `info` fields that hold the edited value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

import msgspec

from cerebro_serve.objects import Profile
from cerebro_serve.training.anonymize import BIRTH_LINE

Gender = Literal["female", "male"]

# First names used in field experiments on hiring discrimination: Bertrand, M. and Mullainathan, S. (2004),
# "Are Emily and Greg More Employable than Lakisha and Jamal? A Field Experiment on Labor Market
# Discrimination", American Economic Review 94(4): 991-1013, table A1 (names chosen as the most distinctive
# of each group in Massachusetts birth certificates 1974-1979). Keyed by (group, gender).
AUDIT_NAMES: Mapping[tuple[str, Gender], tuple[str, ...]] = {
    ("White", "female"): ("Allison", "Anne", "Carrie", "Emily", "Jill", "Laurie", "Kristen", "Meredith", "Sarah"),
    ("White", "male"): ("Brad", "Brendan", "Geoffrey", "Greg", "Brett", "Jay", "Matthew", "Neil", "Todd"),
    ("Black", "female"): ("Aisha", "Ebony", "Keisha", "Kenya", "Lakisha", "Latonya", "Latoya", "Tamika", "Tanisha"),
    ("Black", "male"): ("Darnell", "Hakim", "Jamal", "Jermaine", "Kareem", "Leroy", "Rasheed", "Tremayne", "Tyrone"),
}
AUDIT_NAMES_SOURCE = "Bertrand & Mullainathan (2004), American Economic Review 94(4), table A1"

# Masculine word -> its feminine counterpart. Words whose other form is ambiguous ("her": "his" or "him")
# are turned into the possessive, the more common use in a resume.
_FEMININE = {
    "he": "she",
    "him": "her",
    "his": "her",
    "himself": "herself",
    "mr": "ms",
    "sir": "madam",
    "man": "woman",
    "men": "women",
    "male": "female",
    "boy": "girl",
    "gentleman": "lady",
    "gentlemen": "ladies",
    "husband": "wife",
    "father": "mother",
    "son": "daughter",
    "brother": "sister",
    "waiter": "waitress",
    "waiters": "waitresses",
    "chairman": "chairwoman",
    "salesman": "saleswoman",
    "salesmen": "saleswomen",
    "businessman": "businesswoman",
    "spokesman": "spokeswoman",
    "foreman": "forewoman",
    "policeman": "policewoman",
    "craftsman": "craftswoman",
    "actor": "actress",
    "steward": "stewardess",
    "headmaster": "headmistress",
}
_MASCULINE = {feminine: masculine for masculine, feminine in _FEMININE.items()} | {
    "her": "his",
    "hers": "his",
    "mrs": "mr",
    "hostess": "host",
}
GENDERED_WORDS: Mapping[Gender, Mapping[str, str]] = {"female": _FEMININE, "male": _MASCULINE}
_WORD_PATTERNS = {
    gender: re.compile(r"\b(" + "|".join(sorted(words, key=len, reverse=True)) + r")\b", re.IGNORECASE)
    for gender, words in GENDERED_WORDS.items()
}
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_AGE = re.compile(r"\b((?:age|[aâ]ge|edad|alter)\s*:\s*)(\d{1,3})\b", re.IGNORECASE)


def first_name_of(profile: Profile) -> str | None:
    """The given name the profile shows: `info.first_name`, else the first word of `info.full_name`."""
    info = profile.info
    if info.first_name and info.first_name.strip():
        return info.first_name.strip()
    words = (info.full_name or "").split()
    return words[0] if words and len(words[0]) > 1 else None


def with_first_name(profile: Profile, name: str) -> Profile:
    """The profile with its first name replaced by `name` wherever it appears as a word, as written,
    capitalised or in capitals (a lower-case "will" is a word, not the name Will). A profile without a
    first name is returned as it is."""
    current = first_name_of(profile)
    if current is None:
        return profile
    forms = {current: name, current.upper(): name.upper(), current.capitalize(): name.capitalize()}
    pattern = re.compile(r"\b(" + "|".join(re.escape(form) for form in forms) + r")\b")

    def swap(text: str) -> str:
        return pattern.sub(lambda match: forms[match.group()], text)

    edited = _rewritten(profile, swap)
    info = msgspec.structs.replace(
        edited.info,
        first_name=name if profile.info.first_name else None,
        full_name=swap(profile.info.full_name) if profile.info.full_name else None,
    )
    return msgspec.structs.replace(edited, info=info)


def gendered(profile: Profile, gender: Gender) -> Profile:
    """The profile with every gendered word of the other gender turned into this one's (he -> she, Mr ->
    Ms, waiter -> waitress, ...; case kept), `info.gender` included."""
    words, pattern = GENDERED_WORDS[gender], _WORD_PATTERNS[gender]

    def turn(text: str) -> str:
        return pattern.sub(lambda match: _same_case(match.group(), words[match.group().casefold()]), text)

    edited = _rewritten(profile, turn)
    if profile.info.gender:
        info = msgspec.structs.replace(edited.info, gender=turn(profile.info.gender))
        edited = msgspec.structs.replace(edited, info=info)
    return edited


def born_shifted(profile: Profile, years: int) -> Profile:
    """The profile born `years` later (negative: earlier): the year of `info.date_birth`, the years on the
    text's birth lines ("Date of birth: 03/04/1990") and stated ages ("Age: 34") move; other dates stay."""

    def shift_year(match: re.Match[str]) -> str:
        return str(int(match.group()) + years)

    def shift(text: str) -> str:
        born = BIRTH_LINE.sub(lambda line: _YEAR.sub(shift_year, line.group()), text)
        return _AGE.sub(lambda age: f"{age.group(1)}{max(0, int(age.group(2)) - years)}", born)

    edited = _rewritten(profile, shift)
    if profile.info.date_birth:
        born = _YEAR.sub(shift_year, profile.info.date_birth)
        edited = msgspec.structs.replace(edited, info=msgspec.structs.replace(edited.info, date_birth=born))
    return edited


def _rewritten(profile: Profile, edit: Callable[[str], str]) -> Profile:
    """The profile with `edit` applied to every text a reader sees (not its contacts or identifiers)."""

    def apply(text: str | None) -> str | None:
        return edit(text) if text else text

    return msgspec.structs.replace(
        profile,
        text=apply(profile.text),
        info=msgspec.structs.replace(profile.info, summary=apply(profile.info.summary)),
        experiences=[
            msgspec.structs.replace(e, title=apply(e.title), description=apply(e.description))
            for e in profile.experiences
        ],
        educations=[
            msgspec.structs.replace(e, title=apply(e.title), description=apply(e.description))
            for e in profile.educations
        ],
    )


def _same_case(original: str, replacement: str) -> str:
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[0].isupper():
        return replacement.capitalize()
    return replacement
