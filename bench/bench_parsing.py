"""Parse every development resume and fixture; report failures, field coverage and documents per second.

Data (read-only, not shipped): `../shared/data/resumes/livecareer-dev/pdf/*/*.pdf` (1,237 real resumes),
`../shared/data/fixtures/resume-matcher/*.pdf`, `../shared/data/fixtures/vanetik-docx/CV/*.docx`.
The path is the server's: extraction in the sandboxed worker processes, structuring in this process.
Usage: .venv/bin/python bench/bench_parsing.py [--limit N]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from pathlib import Path

from cerebro_serve.parsing import DocumentError
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "shared/data"
SETS = {
    "livecareer-dev (PDF)": sorted((DATA / "resumes/livecareer-dev/pdf").glob("*/*.pdf")),
    "resume-matcher fixtures (PDF)": sorted((DATA / "fixtures/resume-matcher").glob("*.pdf")),
    "vanetik fixtures (DOCX)": sorted((DATA / "fixtures/vanetik-docx/CV").glob("*.docx")),
}


def run(name: str, files: list[Path], sandbox: DocumentSandbox) -> None:
    lexicon = default_lexicon()
    errors: Counter[str] = Counter()
    coverage: Counter[str] = Counter()
    parsed = 0
    start = time.perf_counter()
    for path in files:
        try:
            text = sandbox.extract(path.read_bytes(), path.name, None).text
        except DocumentError as error:
            errors[error.reason] += 1
            continue
        profile = parse_resume(text, lexicon)
        parsed += 1
        coverage["experience >= 1"] += bool(profile.experiences)
        coverage["education >= 1"] += bool(profile.educations)
        coverage["skills >= 3"] += len(profile.skills) >= 3
        coverage["language detected"] += profile.text_language is not None
        coverage["email"] += profile.info.email is not None
        coverage["all four"] += bool(
            profile.experiences and profile.educations and len(profile.skills) >= 3 and profile.text_language
        )
    seconds = time.perf_counter() - start
    print(
        f"\n### {name}: {len(files)} files, {parsed} parsed, {sum(errors.values())} refused "
        f"{dict(errors) or ''}, {len(files) / seconds:.1f} docs/s"
    )
    print("| field | share of parsed |")
    print("|---|---|")
    for field, count in coverage.items():
        print(f"| {field} | {count / max(parsed, 1):.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    if not (DATA / "resumes").exists():
        raise SystemExit(f"{DATA} not found: this benchmark needs the development data in ../shared")
    print(f"machine: {platform.machine()}, 2 extraction workers (spawned, memory-capped)")
    sandbox = DocumentSandbox(workers=2, timeout_seconds=Settings().parse_timeout_seconds)
    default_lexicon()  # load once, outside the timings
    try:
        for name, files in SETS.items():
            run(name, files[: args.limit], sandbox)
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
