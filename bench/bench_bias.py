"""Bias probes of `cerebro-base` on development data: do names alone move scores and ranks?

Two sets, each indexed into a fresh workspace on the server's own wiring (`cli.build_workspace`, default
settings, SQLite in a temporary directory):
- rjdb (`../shared/data/pairs/rjdb/test.jsonl`, synthetic, GPT-4 written): the first `--rjdb-jobs` job
  descriptions are the jobs; the matched resumes of the first `--rjdb-profiles` rows are the profiles;
- livecareer-dev (`../shared/data/resumes/livecareer-dev/resumes.csv`, real resumes with names replaced by
  the site): `--livecareer-profiles` resumes drawn across the 24 categories; the jobs are our ESCO stand-ins
  for the categories (bench/devdata.py CATEGORY_OCCUPATIONS: each occupation's description and essential
  skills), as in bench/bench_quality.py.
Neither set carries protected attributes, so each resume gets a first name drawn at random (seeded) from
Bertrand & Mullainathan's audit-study names (services/counterfactuals.py AUDIT_NAMES): its (group, gender)
cell is uniform, the name replaces the first name of rjdb's "Name:" line or is prepended as the resume's
name line (livecareer), and the cell is the profile's attribute; a "Date of birth" line follows it (a year
drawn at random, 1960-2000), for the birth-year probe to move. Impact ratios (NYC LL144, from
training/fairness.py model_fairness over every (job, profile) pair: scoring rates above the median of all
pairs, selection rates of each job's top 10) on those attributes then measure whether names alone move
ranks, beside the lowest ratio chance alone gives when the groups are drawn again without touching the
resumes. Then the stereotype probe (services/bias_probes.py: first names swapped across gender and group,
gendered words, birth year) and the overload figures. Skips when the data is absent. Usage:

    .venv/bin/python -m bench.bench_bias [--rjdb-jobs 30] [--rjdb-profiles 150] [--livecareer-profiles 40] \
        [--probed 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

from bench.devdata import LIVECAREER, RJDB, esco_job_texts, livecareer_texts
from cerebro_serve.cli import build_workspace
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.parsing.jobs import parse_job
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.services import Workspace
from cerebro_serve.services.bias_probes import EditEffect, overload_bias, stereotype_bias
from cerebro_serve.services.counterfactuals import AUDIT_NAMES
from cerebro_serve.services.queries import PoolCreate, ProfilesScoringQuery
from cerebro_serve.settings import Settings
from cerebro_serve.training.fairness import INTERSECTION, SMALL_SHARE, model_fairness

SEED = 14
SURNAME = "Walker"  # livecareer's resumes have no name: every prepended name line shares this one
NAME_LINE = re.compile(r"^(\s*Name:\s*)(\S+)", re.MULTILINE)  # rjdb's "Name: Azaria Watson"
TOP = 10
BORN_FROM, BORN_TO = 1960, 2000  # the birth years drawn for the resumes' birth lines (uniform, seeded)
BATCH = 16  # profiles indexed per call (one encoder round for their views)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return f"{model}, {os.cpu_count()} cores, no GPU used ({platform.system()} {platform.machine()})"


def named(text: str, first: str, born: int) -> tuple[str, str]:
    """The resume with this first name on its name line (prepended when it has none) and a birth line
    after it, and the full name."""
    birth = f"Date of birth: {born}"
    found = NAME_LINE.search(text)
    if not found:
        return f"{first} {SURNAME}\n{birth}\n{text}", f"{first} {SURNAME}"
    line_end = text.find("\n", found.end())
    line_end = len(text) if line_end < 0 else line_end
    surname = text[found.end() : line_end].strip()
    return f"{text[: found.start(2)]}{first}{text[found.end() : line_end]}\n{birth}{text[line_end:]}", (
        f"{first} {surname}".strip()
    )


def assign_names(count: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(group, gender, first name) per resume: a uniform (group, gender) cell, a name drawn from it."""
    cells = list(AUDIT_NAMES)
    drawn = rng.integers(len(cells), size=count)
    return [(*cells[c], str(rng.choice(AUDIT_NAMES[cells[c]]))) for c in drawn]


def index_set(
    workspace: Workspace, jobs: list[str], resumes: list[str], names: list[tuple[str, str, str]], births: list[int]
) -> tuple[str, str, list[str]]:
    """A board of the jobs, a source of the named resumes with their birth years (parsed as uploads are);
    the profiles' keys."""
    lexicon = default_lexicon()
    board = workspace.pools.create(JOB, PoolCreate(name="bias jobs")).key
    source = workspace.pools.create(PROFILE, PoolCreate(name="bias profiles")).key
    for start in range(0, len(jobs), BATCH):
        workspace.records.index(JOB, board, [parse_job(text, lexicon) for text in jobs[start : start + BATCH]])
    keys = []
    for start in range(0, len(resumes), BATCH):
        batch = []
        for text, (_, _, first), born in zip(
            resumes[start : start + BATCH], names[start : start + BATCH], births[start : start + BATCH]
        ):
            text, full_name = named(text, first, born)
            profile = parse_resume(text, lexicon)
            info = msgspec.structs.replace(
                profile.info, first_name=first, full_name=full_name, date_birth=f"{born}-01-01"
            )
            batch.append(msgspec.structs.replace(profile, text=text, info=info))
        keys += [str(profile.key) for profile in workspace.records.index(PROFILE, source, batch)]
    return board, source, keys


def served_scores(workspace: Workspace, board: str, source: str, keys: list[str]) -> np.ndarray:
    """jobs x profiles: `profiles/scoring` with cerebro-base, each job ranking the whole source."""
    job_keys = [job.key for job in workspace.records.store.records.load_records(_ids(workspace, board))]
    position = {key: i for i, key in enumerate(keys)}
    scores = np.full((len(job_keys), len(keys)), np.nan)
    for row, job_key in enumerate(job_keys):
        query = ProfilesScoringQuery(
            source_keys=[source], board_key=board, job_key=job_key, sort_by="scoring", limit=len(keys)
        )
        page = workspace.ranking.score_profiles(query)
        for item, prediction in zip(page.items, page.predictions or []):
            if prediction is not None:  # [1 - score, score]
                scores[row, position[item.key]] = prediction[1]
    return scores


def _ids(workspace: Workspace, pool_key: str) -> list[int]:
    columns = workspace.records.pool_index(pool_key).columns.snapshot()
    return columns.record_ids[: columns.rows].tolist()


def attributes_of(names: list[tuple[str, str, str]], jobs: int) -> dict[str, list[str]]:
    """Each (job, profile) pair's assigned gender and group, jobs major (as `scores.ravel()`)."""
    return {"gender": [n[1] for n in names] * jobs, "ethnicity": [n[0] for n in names] * jobs}


def decisions(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """jobs x profiles: above the median of all pairs' scores (LL144's scoring rate), and in the job's top 10."""
    ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
    return scores > np.median(scores), ranks < TOP


def lowest_ratios(above: np.ndarray, top: np.ndarray, names: list[tuple[str, str, str]]) -> dict[str, float]:
    """(attribute, rate) -> the lowest impact ratio among groups of 2% or more, as model_fairness computes
    it, in plain numpy: fast enough to redraw the groups a hundred times."""
    labels = {
        "gender": [n[1] for n in names],
        "ethnicity": [n[0] for n in names],
        INTERSECTION: [f"{n[1]}×{n[0]}" for n in names],
    }
    lowest = {}
    for attribute, values in labels.items():
        groups = np.array(values)
        counted = [g for g in set(values) if np.mean(groups == g) >= SMALL_SHARE]
        for rate, hits in (("scoring_rate", above), ("selection_rate", top)):
            rates = [hits[:, groups == g].mean() for g in counted]
            if len(rates) > 1 and max(rates) > 0:
                lowest[f"{attribute}, {rate}"] = float(min(rates) / max(rates))
    return lowest


def placebo_ranges(
    scores: np.ndarray, names: list[tuple[str, str, str]], rng: np.random.Generator, draws: int = 200
) -> dict[str, str]:
    """Per (attribute, rate), the observed lowest impact ratio beside the 5th and 50th percentiles of the
    lowest ratio when the groups are drawn again at random without touching the resumes: how low a ratio
    falls by chance alone on this many profiles (Fisher's p counts each (job, profile) pair as
    independent, which the same profile under many jobs is not)."""
    above, top = decisions(scores)
    observed = lowest_ratios(above, top, names)
    drawn: dict[str, list[float]] = {}
    for _ in range(draws):
        for name, ratio in lowest_ratios(above, top, assign_names(len(names), rng)).items():
            drawn.setdefault(name, []).append(ratio)
    return {
        name: f"{observed[name]:.3f} (chance: {np.percentile(values, 5):.3f} / {np.percentile(values, 50):.3f})"
        for name, values in drawn.items()
        if name in observed
    }


def report(title: str, workspace: Workspace, jobs: list[str], resumes: list[str], probed: int) -> None:
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)  # per set, so one set's figures do not hang on the other's draws
    names = assign_names(len(resumes), rng)
    births = rng.integers(BORN_FROM, BORN_TO, size=len(resumes), endpoint=True).tolist()
    board, source, keys = index_set(workspace, jobs, resumes, names, births)
    indexed = time.perf_counter() - started
    scores = served_scores(workspace, board, source, keys)
    print(f"\n## {title}: {len(jobs)} jobs, {len(keys)} profiles (indexed in {indexed:.0f} s)\n")
    above, top = decisions(scores)
    fairness = model_fairness(scores.ravel(), attributes_of(names, len(scores)), selected=top.ravel())
    print("| attribute | rate | group | pairs | rate | impact ratio | four-fifths flag | Fisher p |")
    print("|---|---|---|---|---|---|---|---|")
    for table in fairness.tables:
        for group in table.groups:
            ratio = "–" if group.impact_ratio is None else f"{group.impact_ratio:.3f}"
            p_value = "–" if group.p_value is None else f"{group.p_value:.3g}"
            print(
                f"| {table.attribute} | {table.rate} | {group.group} | {group.n} | {group.rate:.3f} | {ratio} "
                f"| {'yes' if group.four_fifths_flag else 'no'} | {p_value} |"
            )
    recomputed = lowest_ratios(above, top, names)
    for table in fairness.tables:  # the placebo's numpy ratios are model_fairness's
        if table.min_impact_ratio is not None:
            assert abs(recomputed[f"{table.attribute}, {table.rate}"] - table.min_impact_ratio) < 1e-9
    print("\nLowest impact ratio, and with the groups drawn again at random (5th / 50th percentile):")
    for name, band in placebo_ranges(scores, names, np.random.default_rng(SEED + 1)).items():
        print(f"- {name}: {band}")
    algorithm = base_algorithm()
    started = time.perf_counter()
    stereotype = stereotype_bias(
        workspace.records,
        workspace.reads,
        algorithm,
        [board],
        [source],
        max_jobs=len(jobs),
        max_profiles=probed,
        seed=SEED,
    )
    probe_seconds = time.perf_counter() - started
    print(
        f"\nStereotype probe: {stereotype.profiles} profiles x {stereotype.jobs} jobs, each job ranking "
        f"{stereotype.pool_size}; top-k = {stereotype.top_k} ({probe_seconds:.0f} s)\n"
    )
    print(
        "| edit | baseline → counterfactual | profiles | comparisons | mean abs Δ | p99 abs Δ | mean Δ "
        "| counterfactual higher | top-10 flips | mean rank shift | near the top 10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for effect in stereotype.effects:
        print(_effect_row(effect))
    overload = overload_bias(
        workspace.records, workspace.reads, algorithm, [board], [source], max_jobs=len(jobs), seed=SEED
    )
    print(
        f"\nOverload: {overload.jobs} jobs x top {overload.top_k} over {overload.pool_size} profiles: "
        f"{overload.profiles_shown} profiles ever shown; the top 1% ({overload.top_profiles} profiles) take "
        f"{overload.top_share:.1%} of the slots ({overload.top_share_discounted:.1%} position-discounted); "
        f"Gini of exposure {overload.gini:.3f} ({overload.gini_discounted:.3f} discounted)\n"
    )
    print("| pool share | profiles | top-10 mean score | p50 | p90 | top-1 mean |")
    print("|---|---|---|---|---|---|")
    for drift in overload.drift:
        print(
            f"| {drift.fraction:.0%} | {drift.pool_size} | {drift.mean:.3f} | {drift.p50:.3f} | {drift.p90:.3f} "
            f"| {drift.top1_mean:.3f} |"
        )


def _effect_row(effect: EditEffect) -> str:
    head = f"| {effect.edit} | {effect.baseline} → {effect.counterfactual} | {effect.profiles} | {effect.comparisons} "
    if effect.mean_abs_delta is None:
        return head + "| – | – | – | – | – | – | – |"
    near_top = "–" if effect.top_k_rank_shift is None else f"{effect.top_k_rank_shift:.2f}"
    return (
        head + f"| {effect.mean_abs_delta:.4f} | {effect.p99_abs_delta:.4f} | {effect.mean_delta:+.4f} "
        f"| {effect.counterfactual_higher:.1%} | {effect.top_k_flips:.1%} | {effect.mean_rank_shift:.2f} "
        f"| {near_top} |"
    )


def rjdb_set(jobs: int, profiles: int) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in RJDB.read_text().splitlines() if line.strip()]
    return [row["Job-Description"] for row in rows[:jobs]], [row["Resume-matched"] for row in rows[:profiles]]


def livecareer_set(profiles: int) -> tuple[list[str], list[str]]:
    texts = livecareer_texts()
    chosen = np.sort(np.random.default_rng(SEED).choice(len(texts), size=min(profiles, len(texts)), replace=False))
    return [text for _, _, text in esco_job_texts()], [texts[i] for i in chosen]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rjdb-jobs", type=int, default=30)
    parser.add_argument("--rjdb-profiles", type=int, default=150)
    parser.add_argument("--livecareer-profiles", type=int, default=40)
    parser.add_argument("--probed", type=int, default=12, help="profiles the stereotype probe copies, per set")
    args = parser.parse_args()
    if not RJDB.exists() or not LIVECAREER.exists():
        print(f"skipped: the development data ({RJDB}, {LIVECAREER}) is absent")
        return
    print(f"machine: {machine()}")
    sets = {
        "rjdb": rjdb_set(args.rjdb_jobs, args.rjdb_profiles),
        "livecareer-dev (ESCO occupations as jobs)": livecareer_set(args.livecareer_profiles),
    }
    for title, (jobs, resumes) in sets.items():
        with tempfile.TemporaryDirectory() as directory:
            workspace, batcher = build_workspace(Settings.from_env(data_dir=Path(directory)), training_worker=False)
            try:
                report(title, workspace, jobs, resumes, args.probed)
            finally:
                workspace.close()
                batcher.close()


if __name__ == "__main__":
    main()
