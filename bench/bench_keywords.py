"""Keyword filters at 100k profiles: the trigram index (store/text_search.py, FTS5 on SQLite) against the
scan it replaced (LIKE over every record's text), on the same seeded store in the same run.

The store is bench/seed_load.py's load-test workspace (seeded once into `--data-root`); the keywords are
the ones its Locust users search with (the rjdb jobs' commonest skills), one at a time and in pairs. Each
query runs `--repeat` times per mode, alternating modes, so both see the same cache state; both must
return the same records. Results: bench/results/keywords.json and bench/RESULTS.md.

    .venv/bin/python -m bench.bench_keywords [--profiles 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from bench.seed_load import SOURCE_KEY, ensure_seeded
from cerebro_serve.store import RecordFilter, SqlStore

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "keywords.json"


def _timed(store: SqlStore, keywords: tuple[str, ...], indexed: bool) -> tuple[float, np.ndarray]:
    store.records._search_indexed = indexed  # the one switch between the two paths of filter_records
    start = time.perf_counter()
    found = store.records.filter_records("profile", [SOURCE_KEY], RecordFilter(text_keywords=keywords))
    return (time.perf_counter() - start) * 1000, found.ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/cerebro-keywords"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    manifest = ensure_seeded(args.data_root, args.profiles, base="rjdb")
    store = SqlStore(f"sqlite:///{args.data_root / 'cerebro.db'}")
    words = manifest["keywords"]
    queries = [(word,) for word in words] + [(a, b) for a, b in zip(words[::2], words[1::2], strict=False)]
    times: dict[str, list[float]] = {"trigram index": [], "scan": []}
    matches = []
    for keywords in queries:
        for _ in range(args.repeat):
            indexed_ms, answer = _timed(store, keywords, True)
            scan_ms, scanned = _timed(store, keywords, False)
            assert np.array_equal(answer, scanned), (keywords, len(answer), len(scanned))
            times["trigram index"].append(indexed_ms)
            times["scan"].append(scan_ms)
        matches.append(len(answer))
    store.close()
    summary = {
        mode: {"p50_ms": round(float(np.percentile(t, 50)), 2), "p99_ms": round(float(np.percentile(t, 99)), 2)}
        for mode, t in times.items()
    }
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.node()}",
        "profiles": args.profiles,
        "queries": len(queries),
        "repeat": args.repeat,
        "matches_per_query_median": int(np.median(matches)),
        **summary,
        "p50_speedup": round(summary["scan"]["p50_ms"] / summary["trigram index"]["p50_ms"], 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
