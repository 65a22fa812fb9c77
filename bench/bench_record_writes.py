"""What a record's sections and facets (the filters' `record_sections` and `record_facets`) cost a write.

The store's own write (`RecordStore.insert_records`, batches of 64, one transaction each, into a migrated
SQLite store with every index, the whole-text trigram table included) of parsed livecareer resumes (real,
median ~5,600 characters), with their facets as the server computes them (`services/record_facets.py`)
and without (as before they existed). The vectors are zeros of the stored size; the model is not timed.
Usage: .venv/bin/python -m bench.bench_record_writes [--count 1200]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.devdata import LIVECAREER, livecareer_texts
from cerebro_serve.engine.views import VIEWS, profile_view
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.scoring.features import FeatureExtractor
from cerebro_serve.services.record_facets import facets_of
from cerebro_serve.store import RecordContent, SqlStore

BATCH = 64
DIMENSION = 384


def _contents(count: int, with_facets: bool) -> list[RecordContent]:
    texts = livecareer_texts()
    lexicon, extractor = default_lexicon(), FeatureExtractor()
    profiles = [parse_resume(texts[number % len(texts)], lexicon) for number in range(count)]
    zeros = np.zeros((len(VIEWS), DIMENSION), dtype=np.float32)
    return [
        RecordContent(
            reference=None,
            email=None,
            name=None,
            search_text=profile_view(profile).casefold(),
            body=profile.text.encode() if profile.text else b"",
            model="bench",
            embedding=zeros,
            features=b"",
            facets=facets_of(profile, extractor) if with_facets else None,
        )
        for profile in profiles
    ]


def _ms_per_record(contents: list[RecordContent]) -> float:
    with tempfile.TemporaryDirectory() as directory:
        store = SqlStore(f"sqlite:///{Path(directory) / 'bench.db'}")
        pool = store.pools.create_pool("source", secrets.token_hex(20), "bench", None).key
        start = time.perf_counter()
        for first in range(0, len(contents), BATCH):
            rows = [(secrets.token_hex(20), 0, content) for content in contents[first : first + BATCH]]
            store.records.insert_records(kind="profile", pool_key=pool, rows=rows)
        elapsed = time.perf_counter() - start
        store.close()
    return elapsed * 1000 / len(contents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1200)
    args = parser.parse_args()
    if not LIVECAREER.exists():
        raise SystemExit(f"{LIVECAREER} not found: this benchmark needs the development data in ../shared")
    bare, described = _contents(args.count, False), _contents(args.count, True)
    sections = sum(len(content.facets.sections) for content in described if content.facets)
    print(f"{args.count} livecareer resumes, {sections} sections; SQLite, batches of {BATCH}; ms per record")
    print("| round | without facets | with sections and facets | ratio |")
    print("|---|---|---|---|")
    for round_ in (1, 2):  # alternated, twice: this VM's speed drifts over minutes
        without, with_ = _ms_per_record(bare), _ms_per_record(described)
        print(f"| {round_} | {without:.3f} | {with_:.3f} | {with_ / without:.2f}x |")


if __name__ == "__main__":
    main()
