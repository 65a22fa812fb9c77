"""The HrFlow Text API: entities in free text, taxonomy tags, embeddings, and nearest skills to a word."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cerebro_serve.engine import Encoder
from cerebro_serve.index.topk import topk
from cerebro_serve.parsing.contacts import EMAIL, PHONE
from cerebro_serve.parsing.dates import find_ranges
from cerebro_serve.parsing.languages import find_spoken_languages
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.taxonomy import Concept, Lexicon, localized_names
from cerebro_serve.services.errors import InvalidParameters

log = logging.getLogger(__name__)

SKILL_TAGGERS = {"tagger-hrflow-skills"}
OCCUPATION_TAGGERS = {
    "tagger-rome-jobtitle",
    "tagger-rome-family",
    "tagger-rome-subfamily",
    "tagger-rome-category",
    "tagger-hrflow-jobtitles",
    "tagger-esco-occupations",
}
OUTPUT_LANGS = ("en", "es", "fr")
PARSING_GROUPS = (
    "certifications",
    "companies",
    "courses",
    "dates",
    "durations",
    "education_titles",
    "emails",
    "first_names",
    "interests",
    "job_titles",
    "languages",
    "last_names",
    "locations",
    "phones",
    "schools",
    "skills_hard",
    "skills_soft",
    "tasks",
)


def _entity(text: str, value: str | None, label: str, after: int = 0) -> dict[str, Any] | None:
    if not value:
        return None
    start = text.find(value, after)
    return {"start": start, "end": start + len(value), "label": label} if start >= 0 else None


class TextService:
    def __init__(self, encoder: Encoder, lexicon: Callable[[], Lexicon], cache_dir: Path | None) -> None:
        self.encoder = encoder
        self._lexicon = lexicon
        self._cache_dir = cache_dir
        self._skill_names: list[str] | None = None
        self._skill_vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    def parse(self, text: str) -> dict[str, Any]:
        """Entities with offsets, and the same grouped by kind, as the HrFlow text parser returns them."""
        lexicon = self._lexicon()
        groups: dict[str, list[str]] = {name: [] for name in PARSING_GROUPS}
        entities: list[dict[str, Any]] = []

        def add(group: str, label: str, start: int, end: int) -> None:
            entities.append({"start": start, "end": end, "label": label})
            value = text[start:end]
            if value not in groups[group]:
                groups[group].append(value)

        for match in lexicon.find(text, kind="skill"):
            soft = match.concept.type == "soft"
            add(
                "skills_soft" if soft else "skills_hard", "skill_soft" if soft else "skill_hard", match.start, match.end
            )
        for match in lexicon.find(text, kind="occupation"):
            add("job_titles", "job_title", match.start, match.end)
        for found in find_ranges(text):
            add("dates", "date", *found.span)
        for pattern, group, label in ((EMAIL, "emails", "email"), (PHONE, "phones", "phone")):
            for found_contact in pattern.finditer(text):
                if group == "phones" and not 8 <= sum(c.isdigit() for c in found_contact.group(0)) <= 15:
                    continue
                add(group, label, found_contact.start(), found_contact.end())
        profile = parse_resume(text, lexicon)
        for value, group, label in [
            *((e.company, "companies", "company") for e in profile.experiences),
            *((e.school, "schools", "school") for e in profile.educations),
            *((e.title, "education_titles", "education_title") for e in profile.educations),
            (profile.info.first_name, "first_names", "first_name"),
            (profile.info.last_name, "last_names", "last_name"),
        ]:
            entity = _entity(text, value, label)
            if entity:
                add(group, label, entity["start"], entity["end"])
        for code, _level in find_spoken_languages(text):
            groups["languages"].append(code)
        entities.sort(key=lambda entity: (entity["start"], entity["end"]))
        return {"text": text, "entities": entities, "parsing": groups}

    def tag(self, text: str, algorithm_key: str, top_n: int, output_lang: str) -> dict[str, list[Any]]:
        """The taxonomy concepts a text mentions, most mentioned first; prediction = share of mentions.

        Tags are the concepts' preferred labels in `output_lang` (en; es and fr for ESCO concepts, which
        fall back to English for O*NET technology names that have no translation)."""
        if output_lang not in OUTPUT_LANGS:
            raise InvalidParameters(f"`output_lang` must be one of {', '.join(OUTPUT_LANGS)}")
        if algorithm_key in SKILL_TAGGERS:
            kind = "skill"
        elif algorithm_key in OCCUPATION_TAGGERS:
            kind = "occupation"
        else:
            known = ", ".join(sorted(SKILL_TAGGERS | OCCUPATION_TAGGERS))
            raise InvalidParameters(f"unknown tagger `{algorithm_key}`: use one of {known}")
        matches = self._lexicon().find(text, kind=kind)
        counts = Counter(match.concept for match in matches)
        first_seen = {match.concept: index for index, match in reversed(list(enumerate(matches)))}
        ranked = sorted(counts, key=lambda concept: (-counts[concept], first_seen[concept]))[:top_n]
        total = sum(counts.values()) or 1
        return {
            "ids": [concept.id for concept in ranked],
            "predictions": [round(counts[concept] / total, 4) for concept in ranked],
            "tags": [self._label(concept, output_lang) for concept in ranked],
        }

    @staticmethod
    def _label(concept: Concept, lang: str) -> str:
        if lang == "en":
            return concept.name
        return localized_names().get((concept.id, lang), concept.name)

    def embed(self, text: str) -> list[float]:
        return self.encoder.embed_documents([text])[0].astype(float).tolist()

    def link(self, word: str, top_n: int) -> list[list[Any]]:
        """The taxonomy skills nearest to a word in the encoder's space, with cosine similarities."""
        if top_n == 0:
            return []
        names, vectors = self._skill_space()
        query = self.encoder.embed_documents([word])[0]
        positions, scores = topk(vectors @ query, top_n)
        return [[names[int(position)], round(float(score), 4)] for position, score in zip(positions, scores)]

    def _skill_space(self) -> tuple[list[str], np.ndarray]:
        """Every skill's preferred name, embedded once and cached next to the indexes."""
        with self._lock:
            if self._skill_vectors is None:
                names = sorted({c.name for c in self._lexicon().concepts if c.kind == "skill"})
                slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.encoder.name)
                cache = self._cache_dir / f"skill-space-{slug}-{len(names)}.npy" if self._cache_dir else None
                if cache is not None and cache.exists():
                    vectors = np.load(cache)
                else:
                    log.info("embedding %d skill names for text/linking (once)", len(names))
                    vectors = self.encoder.embed_documents(names).astype(np.float16)
                    if cache is not None:
                        cache.parent.mkdir(parents=True, exist_ok=True)
                        np.save(cache, vectors)
                self._skill_names, self._skill_vectors = names, vectors.astype(np.float32)
            assert self._skill_names is not None
            return self._skill_names, self._skill_vectors
