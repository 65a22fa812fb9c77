"""Build the skills and occupations lexicon that the parser ships, from ESCO and O*NET.

Reads `../shared/data/taxonomy` (ESCO v1.1.1 English, ESCO v1.0 Spanish and French, O*NET 29.2) and
writes `cerebro_serve/parsing/data/lexicon.tsv.gz`: one surface form per line,

    surface <TAB> kind <TAB> id <TAB> preferred English label <TAB> hard|soft|"" <TAB> lang <TAB> exact case

Surface forms are lowercased (length-preserving, so match offsets map back to the text). Long ESCO
phrases ("manage staff of music") rarely occur verbatim in a resume, so labels of more than five words
are left out. Single words that are everyday vocabulary would match everywhere: lowercase ones are
dropped (by a stop list and by word frequency, via `wordfreq`, a build-time dependency only), and
capitalised ones ("Go") and short acronyms ("PR", "ST") must then match with their exact case.
Usage: .venv/bin/python tools/build_lexicon.py [--taxonomy DIR]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from wordfreq import zipf_frequency

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TAXONOMY = ROOT.parent / "shared/data/taxonomy"
OUTPUT = ROOT / "cerebro_serve/parsing/data/lexicon.tsv.gz"
NAMES_OUTPUT = ROOT / "cerebro_serve/parsing/data/names.tsv.gz"
MAX_WORDS = 5
# Single-word labels that are ordinary words in resumes, not evidence of a skill.
GENERIC = set(
    """
act adapt advertise advise analyse analyze assist audit bake build buy calculate care catering clean coach
communicate consult cook coordinate create dance decide deliver design develop direct draw drive edit educate
english estimate evaluate finance fishing form french german help hire identify inform inspect install
interpret lead learn listen maintain manage marketing measure mentor monitor motivate negotiate operate
organise organize paint perform persuade plan prepare present print promote read recruit repair report
research review run schedule sell serve sing speak spanish sport supervise support swim teach test think
train translate travel treat use work write writing reading english management sales service
services office law media art arts music security health safety quality
""".split()
)


def _words(label: str) -> int:
    return len(label.split())


COMMON_WORD_ZIPF = 4.3
ALIASES = Path(__file__).with_name("skill_aliases.tsv")


def _case_rule(label: str, kind: str) -> tuple[bool, str]:
    """(keep it?, the exact case a match must have, or "" for any case). Occupations ("nurse", "chef")
    are common words by nature, so the frequency rule is for skills only."""
    surface = " ".join(label.lower().split())
    if len(surface) < 2 or _words(surface) > MAX_WORDS or (_words(surface) == 1 and surface in GENERIC):
        return False, ""
    if _words(surface) > 1:
        return True, ""
    has_capitals = label != label.lower()
    if len(surface) <= 3 and has_capitals:
        return True, label.strip()
    if kind == "skill" and zipf_frequency(surface, "en") >= COMMON_WORD_ZIPF:
        return (True, label.strip()) if has_capitals else (False, "")
    return True, ""


def _rows(csv_text: Iterator[str]) -> Iterator[dict[str, str]]:
    yield from csv.DictReader(csv_text)


def _labels(row: dict[str, str]) -> list[str]:
    labels = [row.get("preferredLabel", "")]
    labels += (row.get("altLabels") or "").split("\n")
    return [label.strip() for label in labels if label and label.strip()]


def esco_english(taxonomy: Path) -> Iterator[tuple[str, str, str, str, str, str]]:
    archive = zipfile.ZipFile(taxonomy / "esco-v1.1.1-en/ESCO_v1.1.1_classification_en_csv.zip")

    def read(name: str) -> Iterator[dict[str, str]]:
        return _rows(io.TextIOWrapper(archive.open(name), "utf-8"))

    languages = {row["conceptUri"] for row in read("languageSkillsCollection_en.csv")}
    for row in read("skills_en.csv"):
        uri = row["conceptUri"]
        if uri in languages or row.get("status", "released") != "released":
            continue
        kind = "soft" if row["reuseLevel"] == "transversal" else "hard"
        for label in _labels(row):
            yield label, "skill", "esco:" + uri.rsplit("/", 1)[1], row["preferredLabel"], kind, "en"
    for row in read("occupations_en.csv"):
        for label in _labels(row):
            yield label, "occupation", "esco:" + row["conceptUri"].rsplit("/", 1)[1], row["preferredLabel"], "", "en"


def esco_translations(taxonomy: Path, english_names: dict[str, str]) -> Iterator[tuple[str, str, str, str, str, str]]:
    folder = taxonomy / "esco-v1.0-en-es-fr"
    for lang in ("es", "fr"):
        for kind, filename in (("skill", f"skills_{lang}.csv"), ("occupation", f"occupations_{lang}.csv")):
            with open(folder / filename, encoding="utf-8") as handle:
                for row in _rows(handle):
                    concept = "esco:" + row["conceptUri"].rsplit("/", 1)[1]
                    if concept not in english_names:
                        continue  # retired since v1.0
                    skill_type = (
                        "soft" if row.get("reuseLevel") == "transversal" else ("hard" if kind == "skill" else "")
                    )
                    for label in _labels(row):
                        yield label, kind, concept, english_names[concept], skill_type, lang


def translated_names(taxonomy: Path, english_names: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """(concept, lang, preferred label in that language): what `text/tagging` answers for `output_lang`."""
    folder = taxonomy / "esco-v1.0-en-es-fr"
    for lang in ("es", "fr"):
        for filename in (f"skills_{lang}.csv", f"occupations_{lang}.csv"):
            with open(folder / filename, encoding="utf-8") as handle:
                for row in _rows(handle):
                    concept = "esco:" + row["conceptUri"].rsplit("/", 1)[1]
                    if concept in english_names and row["preferredLabel"].strip():
                        yield concept, lang, row["preferredLabel"].strip()


def onet(taxonomy: Path) -> Iterator[tuple[str, str, str, str, str, str]]:
    folder = taxonomy / "onet-29.2"
    with open(folder / "Technology Skills.txt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            example = row["Example"].strip()
            concept = "onet-tech:" + re.sub(r"[^a-z0-9]+", "-", example.lower()).strip("-")
            yield example, "skill", concept, example, "hard", "en"
    titles = {}
    with open(folder / "Occupation Data.txt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            titles[row["O*NET-SOC Code"]] = row["Title"]
            yield row["Title"], "occupation", "onet:" + row["O*NET-SOC Code"], row["Title"], "", "en"
    with open(folder / "Alternate Titles.txt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            code = row["O*NET-SOC Code"]
            yield (
                row["Alternate Title"],
                "occupation",
                "onet:" + code,
                titles.get(code, row["Alternate Title"]),
                "",
                "en",
            )


def aliases(names_to_concepts: dict[str, str]) -> Iterator[tuple[str, str, str, str, str, str]]:
    """Hand-kept spellings the taxonomies miss ("k8s", "reactjs", "ci/cd"), tied to an existing concept
    by its name, or made a concept of their own when the taxonomies have none."""
    for line in ALIASES.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        alias, name = line.split("\t")
        concept = names_to_concepts.get(name.lower(), "alias:" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))
        yield alias, "skill", concept, name, "hard", "en"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY)
    args = parser.parse_args()
    if not args.taxonomy.exists():
        raise SystemExit(f"{args.taxonomy} not found: this script needs the development data in ../shared")

    english = list(esco_english(args.taxonomy))
    english_names = {concept: name for _, _, concept, name, _, _ in english}
    everything = [*english, *esco_translations(args.taxonomy, english_names), *onet(args.taxonomy)]
    skill_concepts = {name.lower(): concept for _, kind, concept, name, _, _ in everything if kind == "skill"}
    everything += list(aliases(skill_concepts))
    # A concept's preferred label beats another concept's alternative label for the same surface
    # ("project management" is project management, not an alt label of "project commissioning").
    everything.sort(key=lambda row: (row[0].lower(), row[0].lower() != row[3].lower()))
    entries: dict[tuple[str, str, str], tuple[str, ...]] = {}
    for label, kind, concept, name, skill_type, lang in everything:
        keep, exact = _case_rule(label, kind)
        if not keep:
            continue
        surface = " ".join(label.lower().split())
        # One concept per (surface, kind, lang): the first source wins (ESCO before O*NET).
        entries.setdefault((surface, kind, lang), (surface, kind, concept, name, skill_type, lang, exact))

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUTPUT, "wt", encoding="utf-8", compresslevel=9) as handle:
        for entry in sorted(entries.values()):
            handle.write("\t".join(entry) + "\n")
    with gzip.open(NAMES_OUTPUT, "wt", encoding="utf-8", compresslevel=9) as handle:
        for row in sorted(set(translated_names(args.taxonomy, english_names))):
            handle.write("\t".join(row) + "\n")
    counts: dict[str, int] = {}
    for _, kind, _, _, _, lang, _ in entries.values():
        counts[f"{kind}/{lang}"] = counts.get(f"{kind}/{lang}", 0) + 1
    print(f"wrote {len(entries):,} surface forms to {OUTPUT} ({OUTPUT.stat().st_size:,} bytes): {counts}")


if __name__ == "__main__":
    main()
