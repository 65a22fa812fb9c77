"""Structured features of a profile or a job, computed once when it is indexed.

The re-ranker compares a job and a profile on what recruiters compare: which skills (taxonomy concepts,
weighted by how specific they are), how many years of experience against the job's requirement, the
education level, the spoken languages and the distance. Extraction is rule-based and multilingual where
the parser is (its 43 languages for language names and degrees); anything not found is "unknown", which the
re-ranker treats as neutral rather than as a mismatch.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import statistics
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from cerebro_serve.engine.views import job_view, profile_view
from cerebro_serve.objects import Job, Profile
from cerebro_serve.once import load_once
from cerebro_serve.parsing.languages import SPOKEN, fold, language_code
from cerebro_serve.parsing.taxonomy import Lexicon, default_lexicon
from cerebro_serve.record_features import FEATURES_SCHEMA, UNKNOWN, RecordFeatures
from cerebro_serve.scoring.consent import refusal_bits

SKILL_WEIGHTS_FILE = Path(__file__).with_name("data") / "skill_weights.tsv.gz"
LANGUAGE_BITS = {code: bit for bit, code in enumerate(SPOKEN)}

# Education levels: 1 secondary, 2 post-secondary diploma, 3 bachelor, 4 master, 5 doctorate.
_EDUCATION_PATTERNS = (
    (
        5,
        r"ph\.?\s?d|doctora(te|t|do|l)|doktor|dottorato|doutorado|tohtori|докторантура|доктор наук|кандидат наук|"
        r"аспирантура|аспірантура|博士|박사|ปริญญาเอก|पीएचडी|डॉक्टरेट|دكتوراه|دکتری|دکترا|ڈاکٹریٹ|דוקטורט|tiến sĩ",
    ),
    (
        4,
        r"master|m\.?sc\b|\bmba\b|m\.?eng\b|\bm\.a\.|\bms\b|maestr[ií]a|m[aá]ster|magist|mestrado|"
        r"laurea magistrale|магистр|магістр|yüksek lisans|硕士|碩士|修士|석사|ปริญญาโท|स्नातकोत्तर|ماجستير|"
        r"کارشناسی ارشد|תואר שני|thạc sĩ|\bs2\b|diplom-ingenieur|dipl\.-ing",
    ),
    (
        3,
        r"bachelor|b\.?sc\b|\bb\.?s\.|\bb\.a\.|b\.?eng\b|\bbs\b|\bba\b|licenci|licence|\bgrado\b|bachiller|"
        r"undergraduate degree|college degree|university degree|4-year degree|laurea|licenciatura|licencjat|"
        r"inżynier|inzynier|bakalář|bakalar|бакалавр|специалист|lisans|学士|本科|학사|ปริญญาตรี|स्नातक|बी\.टेक|"
        r"بكالوريوس|ليسانس|کارشناسی|תואר ראשון|cử nhân|kỹ sư|sarjana|\bs1\b|kandidaatti|alapképzés",
    ),
    (
        2,
        r"associate'?s? degree|\bdiploma\b|\bbts\b|\bdut\b|\bhnd\b|technician degree|vocational|"
        r"t[eé]cnico superior|dipl[oô]me|техникум|колледж|专科|大专|専門学校|短期大学|전문학사|डिप्लोमा|دبلوم|کاردانی",
    ),
    (
        1,
        r"high school|secondary school|\bged\b|baccalaur[eé]at|bachillerato|abitur|lyc[eé]e|maturit|liceum|"
        r"matura|\blise\b|средн|高中|高等学校|고등학교|มัธยม|माध्यमिक|ثانوية|دیپلم|תיכון|trung học|lukio",
    ),
)
EDUCATION_LEVELS = tuple((level, re.compile(pattern, re.IGNORECASE)) for level, pattern in _EDUCATION_PATTERNS)

# "5+ years", "3-5 years of experience", "au moins 3 ans", "2 años", "5 Jahre": the lower bound counts.
YEARS_REQUIRED = re.compile(
    r"(?<![\d.])(\d{1,2})\s*(?:\+|plus)?\s*(?:(?:-|–|to|à|a)\s*\d{1,2}\s*)?\+?\s*"
    r"(?:years?|yrs?|ans|années|años|anos|jahre[n]?|anni|jaar)\b",
    re.IGNORECASE,
)


# Function words of the parser's main languages: they say nothing about a match.
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be been before being below between both but
    by can could did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why will with would you
    your etc per via within including include using use well new must able ability
    le la les un une des du de et en au aux pour par sur dans avec que qui ne pas est sont nous vous il elle ils
    ce cette ces son sa ses leur leurs ou mais plus tout tous
    el los las unos unas del y o para por con sin que en es son su sus al lo como mas muy se este esta
    der die das ein eine und oder mit von zu im auf fur ist sind den dem des nicht auch als bei""".split()
)
TOKEN = re.compile(r"[^\W\d_][\w+#.]*[\w+#]|[^\W\d_]", re.UNICODE)
# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): a run of them is cut
# into overlapping character pairs, the usual unit of CJK and Thai search, or a sentence would be one word.
UNSPACED = re.compile(
    "([\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
)
MAX_TERMS = 400


def skill_hash(concept: str) -> int:
    """A stable 32-bit id for a concept, the same in every process and pool."""
    return int.from_bytes(hashlib.blake2b(concept.encode(), digest_size=4).digest(), "little")


def term_counts(text: str) -> tuple[list[int], list[int], int]:
    """The text's content words (folded, plural "s" dropped): the most frequent MAX_TERMS as sorted
    hashes, their counts, and the number of content words."""
    counts = _content_words(text)
    kept = sorted(counts, key=lambda term: -counts[term])[:MAX_TERMS]
    hashed: dict[int, int] = {}
    for term in kept:
        key = term_hash(term)
        hashed[key] = min(255, hashed.get(key, 0) + counts[term])
    ordered = sorted(hashed)
    return ordered, [hashed[key] for key in ordered], sum(counts.values())


def term_words(text: str) -> dict[int, str]:
    """The text's content words by their hash (what `term_counts` keeps of them), to name them again."""
    return {term_hash(word): word for word in _content_words(text)}


def term_hash(word: str) -> int:
    """A content word (as `term_counts` folds it) as the re-ranker's term id."""
    return skill_hash("term:" + word)


def term_ids(words: Iterable[str]) -> tuple[int, ...]:
    """Content words as the re-ranker's sorted term ids."""
    return tuple(sorted({term_hash(word) for word in words}))


def _content_words(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for token in (word for found in TOKEN.findall(_fold(text)) for word in _words(found)):
        if len(token) < 2 or token in STOPWORDS:
            continue
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        counts[token] = counts.get(token, 0) + 1
    return counts


def _words(token: str) -> list[str]:
    """A token as words: itself, or where it holds unspaced script, that script's character pairs beside
    the rest ("熟悉python和" -> "熟悉", "python", "和")."""
    if not UNSPACED.search(token):
        return [token]
    words: list[str] = []
    for part in UNSPACED.split(token):
        if UNSPACED.fullmatch(part):
            words.extend(part[i : i + 2] for i in range(max(len(part) - 1, 1)))
        else:
            words.extend(TOKEN.findall(part))
    return words


@load_once
def skill_weights() -> dict[str, float]:
    with gzip.open(SKILL_WEIGHTS_FILE, "rt", encoding="utf-8") as handle:
        return {concept: float(weight) for concept, weight in (line.rstrip("\n").split("\t") for line in handle)}


@functools.cache
def default_skill_weight() -> float:
    """Skills outside the taxonomy weigh as much as a typical taxonomy skill."""
    return statistics.median(skill_weights().values())


def _fold(text: str) -> str:
    return " ".join(fold(text.casefold()).split())


class FeatureExtractor:
    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self._lexicon = lexicon

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

    def of(self, record: Profile | Job, today: date | None = None) -> RecordFeatures:
        if isinstance(record, Profile):
            return self.of_profile(record, today)
        return self.of_job(record)

    def concepts_of(self, record: Profile | Job) -> dict[str, str]:
        """The record's skills as taxonomy concepts (id -> display name): what its skill features hash."""
        if isinstance(record, Profile):
            names = [skill.name for skill in record.skills] + [
                skill.name for experience in record.experiences for skill in experience.skills
            ]
            return self._concepts(record.skills, names, record.text)
        return self._concepts(record.skills, [skill.name for skill in record.skills], _job_text(record))

    def of_profile(self, profile: Profile, today: date | None = None) -> RecordFeatures:
        concepts = self.concepts_of(profile)
        titles = [experience.title for experience in profile.experiences if experience.title][:2]
        title = " / ".join(titles) or (profile.info.summary or "").strip().split("\n")[0][:200]
        degrees = " ".join(
            " ".join(part for part in (education.title, education.description) if part)
            for education in profile.educations
        )
        education = _highest_level(degrees) or (_highest_level(profile.text) if profile.text else 0)
        languages = _language_bits(entity.name for entity in profile.languages)
        if profile.text_language in LANGUAGE_BITS:
            languages |= 1 << LANGUAGE_BITS[profile.text_language]
        location = profile.info.location
        return _features(
            concepts,
            term_counts(profile_view(profile)),
            _profile_years(profile, today),
            education,
            languages,
            location.lat,
            location.lng,
            title,
            refusal_bits(profile.consent_algorithmic),
        )

    def of_job(self, job: Job) -> RecordFeatures:
        text = _job_text(job)
        concepts = self.concepts_of(job)
        years = [int(match.group(1)) for match in YEARS_REQUIRED.finditer(text) if int(match.group(1)) <= 30]
        education_text = " ".join(part for part in (job.requirements, text) if part)
        languages = _language_bits(entity.name for entity in job.languages)
        return _features(
            concepts,
            term_counts(job_view(job)),
            float(max(years)) if years else UNKNOWN,
            _lowest_level(education_text),
            languages,
            job.location.lat,
            job.location.lng,
            (job.name or "").strip(),
        )

    def concept_of_name(self, name: str) -> tuple[str, str] | None:
        """(concept id, display name) of a named skill: the taxonomy concept when the name is one skill's
        surface form, else the name itself; None for a blank name."""
        folded = _fold(name)
        if not folded:
            return None
        matches = self.lexicon.find(name, kind="skill")
        if len(matches) == 1 and len(matches[0].text) >= 0.8 * len(name.strip()):
            return matches[0].concept.id, matches[0].concept.name
        return "name:" + folded, name.strip()

    def _concepts(self, skills: Iterable, names: list[str], fallback_text: str | None) -> dict[str, str]:
        """Concept id -> display name. Named skills map onto the taxonomy when a name is one skill's
        surface form; a record without named skills gets those found in its text."""
        concepts: dict[str, str] = {}
        for skill in skills:
            if getattr(skill, "taxonomy_id", None):
                concepts.setdefault(skill.taxonomy_id, skill.name)
        for name in names:
            named = self.concept_of_name(name)
            if named is not None:
                concepts.setdefault(named[0], name.strip())  # in the record's own words, as its pages show it
        if not concepts and fallback_text:
            for match in self.lexicon.find(fallback_text, kind="skill"):
                concepts.setdefault(match.concept.id, match.concept.name)
        return concepts


def _job_text(job: Job) -> str:
    """The job's prose, where its years, education and (without named skills) skills are read."""
    parts = (job.summary, job.requirements, job.responsibilities, *(section.description for section in job.sections))
    return "\n".join(part for part in parts if part)


# Longer than any working life: more comes only from absurd dates or durations, and would overflow the
# index's float32 column.
MAX_CAREER_YEARS = 80.0


def _features(
    concepts: dict[str, str],
    terms: tuple[list[int], list[int], int],
    years: float,
    education: int,
    languages: int,
    lat: float | None,
    lng: float | None,
    title: str,
    refusals: int = 0,
) -> RecordFeatures:
    weights = skill_weights()
    default = default_skill_weight()
    by_hash: dict[int, float] = {}
    for concept in concepts:
        by_hash[skill_hash(concept)] = weights.get(concept, default)
    ids = sorted(by_hash)
    return RecordFeatures(
        skill_ids=ids,
        skill_weights=[by_hash[i] for i in ids],
        terms=terms[0],
        term_freqs=terms[1],
        length=terms[2],
        years=min(years, MAX_CAREER_YEARS),
        education=education,
        languages=languages,
        lat=lat,
        lng=lng,
        title=title,
        skills_text=", ".join(concepts.values()),
        refusals=refusals,
        schema=FEATURES_SCHEMA,
    )


def _levels(text: str | None) -> list[int]:
    if not text:
        return []
    return [level for level, pattern in EDUCATION_LEVELS if pattern.search(text)]


def _highest_level(text: str | None) -> int:
    return max(_levels(text), default=0)


def _lowest_level(text: str | None) -> int:
    """A job naming "bachelor's required, master's preferred" requires a bachelor's."""
    return min(_levels(text), default=0)


def _language_bits(names: Iterable[str]) -> int:
    bits = 0
    for name in names:
        bits |= language_bit(name)
    return bits


def language_bit(name: str) -> int:
    """The LANGUAGE_BITS bit of a language named in any of the parser's languages or by its code (0 when
    unknown): the bits a record's `languages` feature sets, and a filter by language asks for."""
    code = language_code(name)
    return 1 << LANGUAGE_BITS[code] if code in LANGUAGE_BITS else 0


def _profile_years(profile: Profile, today: date | None) -> float:
    return profile_years(profile, "experiences", today)


def profile_years(profile: Profile, part: str, today: date | None = None) -> float:
    """Years of `part` ("experiences" or "educations"): the profile's own `<part>_duration` when given,
    else the union of its periods (overlaps counted once); UNKNOWN without dated periods."""
    given = getattr(profile, f"{part}_duration")
    if given is not None and given > 0:
        return float(given)
    today = today or date.today()
    spans = []
    for period in getattr(profile, part):
        start = _iso_date(period.date_start)
        if start is not None:
            spans.append((start, _iso_date(period.date_end) or today))
    if not spans:
        return UNKNOWN
    spans.sort()
    total_days, current_start, current_end = 0, spans[0][0], spans[0][1]
    for start, end in spans[1:]:
        if start > current_end:
            total_days += (current_end - current_start).days
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    total_days += (current_end - current_start).days
    return round(max(total_days, 0) / 365.25, 2)


def _iso_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        try:
            return date.fromisoformat(value[:7] + "-01")
        except ValueError:
            return None
