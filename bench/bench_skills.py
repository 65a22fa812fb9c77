"""Skill extraction on SkillSpan test (real job-posting sentences, spans labelled by its authors).

Gold spans: the union of SkillSpan's skill and knowledge spans. Ours: `Lexicon.find(kind="skill")` (word
boundaries, case rules, leftmost-longest). Baseline, same run, same vocabulary: plain exact matching of
every lowercased token n-gram (1-5 tokens) against the lexicon's surface forms, every hit kept.
Reports span precision, recall and F1, exact (same tokens) and loose (any token overlap), for all gold spans
and for knowledge spans alone (tools, languages, methods: what a lexicon can know).
Usage: .venv/bin/python bench/bench_skills.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from cerebro_serve.parsing.taxonomy import LEXICON_FILE, default_lexicon

DATA = Path(__file__).resolve().parents[2] / "shared/data/skills/skillspan/data/json"
Span = tuple[int, int, int]  # sentence, first token, last token + 1


def bio_spans(sentence: int, tags: list[str]) -> set[Span]:
    spans, start = set(), None
    for index, tag in enumerate([*tags, "O"]):
        if start is not None and tag != "I":
            spans.add((sentence, start, index))
            start = None
        if tag == "B":
            start = index
    return spans


def ours(sentence: int, tokens: list[str], lexicon) -> set[Span]:
    text, offsets, position = "", [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        text += token + " "
        position += len(token) + 1
    spans = set()
    for match in lexicon.find(text, kind="skill", langs={"en"}):
        covered = [i for i, (start, end) in enumerate(offsets) if start < match.end and end > match.start]
        if covered:
            spans.add((sentence, covered[0], covered[-1] + 1))
    return spans


def baseline(sentence: int, tokens: list[str], surfaces: set[str]) -> set[Span]:
    lowered = [token.lower() for token in tokens]
    return {
        (sentence, start, start + length)
        for length in range(1, 6)
        for start in range(len(tokens) - length + 1)
        if " ".join(lowered[start : start + length]) in surfaces
    }


def scores(predicted: set[Span], gold: set[Span]) -> tuple[float, float, float, float, float, float]:
    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    exact = len(predicted & gold)
    p, r = exact / max(len(predicted), 1), exact / max(len(gold), 1)
    by_sentence: dict[int, list[Span]] = {}
    for span in gold:
        by_sentence.setdefault(span[0], []).append(span)

    def overlaps(span: Span, others: list[Span]) -> bool:
        return any(span[1] < o[2] and o[1] < span[2] for o in others)

    loose_p = sum(overlaps(s, by_sentence.get(s[0], [])) for s in predicted) / max(len(predicted), 1)
    predicted_by_sentence: dict[int, list[Span]] = {}
    for span in predicted:
        predicted_by_sentence.setdefault(span[0], []).append(span)
    loose_r = sum(overlaps(s, predicted_by_sentence.get(s[0], [])) for s in gold) / max(len(gold), 1)
    return p, r, f1(p, r), loose_p, loose_r, f1(loose_p, loose_r)


def main() -> None:
    files = sorted(DATA.glob("*test*.json"))
    if not files:
        raise SystemExit(f"{DATA} not found: this benchmark needs the development data in ../shared")
    lexicon = default_lexicon()
    with gzip.open(LEXICON_FILE, "rt", encoding="utf-8") as handle:
        surfaces = {line.split("\t")[0] for line in handle if line.split("\t")[1] == "skill"}
    gold_all, gold_knowledge, predicted_ours, predicted_baseline = set(), set(), set(), set()
    sentence = 0
    for path in files:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            tokens = row["tokens"]
            knowledge = bio_spans(sentence, row["tags_knowledge"])
            gold_knowledge |= knowledge
            gold_all |= knowledge | bio_spans(sentence, row["tags_skill"])
            predicted_ours |= ours(sentence, tokens, lexicon)
            predicted_baseline |= baseline(sentence, tokens, surfaces)
            sentence += 1
    print(f"SkillSpan test: {sentence} sentences, {len(gold_all)} gold spans ({len(gold_knowledge)} knowledge)")
    print("| gold | system | exact P | exact R | exact F1 | loose P | loose R | loose F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for gold_name, gold in (("skill + knowledge", gold_all), ("knowledge only", gold_knowledge)):
        for name, predicted in (
            ("cerebro lexicon matcher", predicted_ours),
            ("plain exact-match baseline", predicted_baseline),
        ):
            values = " | ".join(f"{value:.3f}" for value in scores(predicted, gold))
            print(f"| {gold_name} | {name} | {values} |")


if __name__ == "__main__":
    main()
