"""How often the parser tells a text's language, on short texts (titles and skills) and on whole resumes.

Data (read-only, not shipped): ESCO v1.0 labels in English, Spanish and French
(`../shared/data/taxonomy/esco-v1.0-en-es-fr`: occupation titles, 2 to 8 words, and skill labels), and the
livecareer development resumes' text (`../shared/data/resumes/livecareer-dev/resumes.csv`, English).
Baseline, same run: py3langid over every language it knows with no threshold (what `detect_language`
was before it read 43 languages). A text is right when the answer is its language; `None` (too little to
tell) counts as not right, and its rate is reported beside.
Usage: .venv/bin/python bench/bench_languages.py [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import sys
from collections.abc import Callable
from pathlib import Path

import py3langid

from cerebro_serve.parsing.languages import detect_language

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ESCO = SHARED / "taxonomy" / "esco-v1.0-en-es-fr"
LIVECAREER = SHARED / "resumes" / "livecareer-dev" / "resumes.csv"


def _labels(path: Path, limit: int, rng: random.Random) -> list[str]:
    with path.open(encoding="utf-8") as file:
        labels = [row["preferredLabel"] for row in csv.DictReader(file) if row["preferredLabel"].strip()]
    return rng.sample(labels, min(limit, len(labels)))


def _resumes(limit: int) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    with LIVECAREER.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    column = next(name for name in rows[0] if "text" in name.lower() or "resume" in name.lower())
    return [row[column] for row in rows[:limit] if row[column].strip()]


def _score(detect: Callable[[str], str | None], texts: list[str], language: str) -> tuple[float, float]:
    answers = [detect(text) for text in texts]
    return sum(a == language for a in answers) / len(texts), sum(a is None for a in answers) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000, help="texts per set")
    args = parser.parse_args()
    if not ESCO.exists():
        raise SystemExit(f"{ESCO} not found: this benchmark needs the development data in ../shared")
    rng = random.Random(13)
    sets: list[tuple[str, str, list[str]]] = []
    for language in ("en", "es", "fr"):
        occupations = ESCO / ("occupations_en.csv" if language == "en" else f"occupations_{language}.csv")
        sets.append((f"ESCO occupation titles ({language})", language, _labels(occupations, args.limit, rng)))
        if language != "en":
            skills = _labels(ESCO / f"skills_{language}.csv", args.limit, rng)
            sets.append((f"ESCO skill labels ({language})", language, skills))
    if LIVECAREER.exists():
        sets.append(("livecareer resumes (en)", "en", _resumes(args.limit)))

    def baseline(text: str) -> str | None:
        return py3langid.classify(text[:5000])[0]

    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}")
    print("| set | texts | py3langid, all languages: right | ours: right | ours: not told (None) |")
    print("|---|---|---|---|---|")
    for name, language, texts in sets:
        right_before, _ = _score(baseline, texts, language)
        right, untold = _score(detect_language, texts, language)
        print(f"| {name} | {len(texts)} | {right_before:.3f} | {right:.3f} | {untold:.3f} |")


if __name__ == "__main__":
    main()
