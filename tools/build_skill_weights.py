"""Build the skill weights the re-ranker uses (`cerebro_serve/scoring/data/skill_weights.tsv.gz`).

A skill that many occupations need ("communication", "Microsoft Excel") says little about a match; a
skill few occupations need ("phlebotomy", "Kubernetes") says a lot. The weight is an inverse document
frequency over occupations: ESCO's occupation-skill relations (essential counts double, optional once)
and O*NET 29.2's technology skills per occupation, `log((N + 1) / (df + 1)) + 1`, each source over its own
N. Concept ids match the lexicon's (`esco:<uuid>`, `onet-tech:<slug>`).

Needs the development data in ../shared/data/taxonomy; the output ships in the package.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import re
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TAXONOMY = ROOT.parent / "shared" / "data" / "taxonomy"
OUTPUT = ROOT / "cerebro_serve" / "scoring" / "data" / "skill_weights.tsv.gz"


def idf(frequencies: Counter[str], total: int) -> dict[str, float]:
    return {concept: math.log((total + 1) / (df + 1)) + 1.0 for concept, df in frequencies.items()}


def esco_weights(taxonomy: Path) -> dict[str, float]:
    archive = taxonomy / "esco-v1.1.1-en" / "ESCO_v1.1.1_relations_csv.zip"
    frequencies: Counter[str] = Counter()
    occupations: set[str] = set()
    with zipfile.ZipFile(archive) as bundle, bundle.open("occupationSkillRelations.csv") as raw:
        for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
            occupations.add(row["occupationUri"])
            concept = "esco:" + row["skillUri"].rsplit("/", 1)[1]
            frequencies[concept] += 2 if row["relationType"] == "essential" else 1
    return idf(frequencies, 2 * len(occupations))


def onet_weights(taxonomy: Path) -> dict[str, float]:
    frequencies: Counter[str] = Counter()
    occupations: set[str] = set()
    with open(taxonomy / "onet-29.2" / "Technology Skills.txt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            occupations.add(row["O*NET-SOC Code"])
            frequencies["onet-tech:" + re.sub(r"[^a-z0-9]+", "-", row["Example"].lower()).strip("-")] += 1
    return idf(frequencies, len(occupations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY)
    args = parser.parse_args()
    if not args.taxonomy.exists():
        raise SystemExit(f"{args.taxonomy} not found: this script needs the development data in ../shared")
    weights = {**esco_weights(args.taxonomy), **onet_weights(args.taxonomy)}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUTPUT, "wt", encoding="utf-8", compresslevel=9) as handle:
        for concept, weight in sorted(weights.items()):
            handle.write(f"{concept}\t{weight:.3f}\n")
    values = sorted(weights.values())
    print(
        f"wrote {len(weights):,} weights to {OUTPUT} ({OUTPUT.stat().st_size:,} bytes); "
        f"min {values[0]:.2f} median {values[len(values) // 2]:.2f} max {values[-1]:.2f}"
    )


if __name__ == "__main__":
    main()
