"""Skills and occupations from ESCO and O*NET, found in text by an Aho-Corasick automaton.

The lexicon (`data/lexicon.tsv.gz`, built by `tools/build_lexicon.py`) holds ~200k surface forms in
English, Spanish and French. One pass over the text finds every surface form; overlapping hits resolve
to the leftmost, then longest, and a hit must start and end on word boundaries.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from cerebro_serve.once import load_once

LEXICON_FILE = Path(__file__).with_name("data") / "lexicon.tsv.gz"
NAMES_FILE = Path(__file__).with_name("data") / "names.tsv.gz"


@dataclass(frozen=True, slots=True)
class Concept:
    id: str  # "esco:<uuid>", "onet:<soc code>" or "onet-tech:<slug>"
    name: str  # preferred English label
    kind: str  # "skill" or "occupation"
    type: str  # "hard" or "soft" for skills, "" for occupations


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    text: str  # as written in the input
    concept: Concept
    lang: str


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class Lexicon:
    def __init__(self, rows: Iterable[tuple[str, ...]]) -> None:
        self.concepts: list[Concept] = []
        concept_index: dict[tuple[str, str], int] = {}
        hits: dict[str, list[tuple[int, str, str]]] = {}
        for surface, kind, concept_id, name, skill_type, lang, exact_case in rows:
            key = (concept_id, kind)
            if key not in concept_index:
                concept_index[key] = len(self.concepts)
                self.concepts.append(Concept(concept_id, name, kind, skill_type))
            hits.setdefault(surface, []).append((concept_index[key], lang, exact_case))
        self._automaton = ahocorasick.Automaton()
        for surface, values in hits.items():
            self._automaton.add_word(surface, (len(surface), tuple(values)))
        self._automaton.make_automaton()
        self.size = len(hits)

    @classmethod
    def from_file(cls, path: Path = LEXICON_FILE) -> Lexicon:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return cls(tuple(line.rstrip("\n").split("\t")) for line in handle)

    def find(self, text: str, kind: str | None = None, langs: Iterable[str] | None = None) -> list[Match]:
        """Non-overlapping matches in reading order."""
        allowed_langs = set(langs) if langs is not None else None
        lowered = _lower_same_length(text)
        spans: list[tuple[int, int, int, str]] = []
        for end_index, (length, values) in self._automaton.iter(lowered):
            start, end = end_index - length + 1, end_index + 1
            if not _on_word_boundaries(lowered, start, end):
                continue
            for concept_index, lang, exact_case in values:
                if exact_case and text[start:end] != exact_case:
                    continue
                concept = self.concepts[concept_index]
                if kind is not None and concept.kind != kind:
                    continue
                if allowed_langs is not None and lang not in allowed_langs:
                    continue
                spans.append((start, end, concept_index, lang))
                break
        spans.sort(key=lambda span: (span[0], span[0] - span[1]))
        matches: list[Match] = []
        last_end = -1
        for start, end, concept_index, lang in spans:
            if start >= last_end:
                matches.append(Match(start, end, text[start:end], self.concepts[concept_index], lang))
                last_end = end
        return matches


def _on_word_boundaries(text: str, start: int, end: int) -> bool:
    """Not inside a word, nor inside a URL, email or file name ("linkedin.com", "cv.docx")."""
    if start > 0 and (
        text[start - 1].isalnum() or (text[start - 1] in "./@" and start > 1 and text[start - 2].isalnum())
    ):
        return False
    if end < len(text) and (
        text[end].isalnum() or (text[end] in "./@" and end + 1 < len(text) and text[end + 1].isalnum())
    ):
        return False
    return True


@load_once
def localized_names() -> dict[tuple[str, str], str]:
    """(concept id, lang) -> the concept's preferred label in that language (ESCO es and fr)."""
    with gzip.open(NAMES_FILE, "rt", encoding="utf-8") as handle:
        rows = (line.rstrip("\n").split("\t") for line in handle)
        return {(concept, lang): name for concept, lang, name in rows}


@load_once
def default_lexicon() -> Lexicon:
    return Lexicon.from_file()
