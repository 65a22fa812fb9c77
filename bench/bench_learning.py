"""Does fine-tuning learn a customer's notion of fit? Learning curves on notions the base does not know.

Development data stands in for a customer: the 24 first ESCO occupations of bench/devdata.py's mapping
are the jobs their recruiters give feedback on, the 24 second ones (other occupations of the same
livecareer categories) the held-out jobs; livecareer's fitting half are the candidates they were shown,
its evaluation half the held-out pool. Livecareer anonymises places, so every job and resume is given one
of four French cities at random (seeded), as a customer's records would carry them.

Each notion is what the customer calls a good match, and none is what the base was fitted for:
- mobility: the job's own category, or the one its people move to internally (PARTNERS);
- seniority: the job's category and more years of experience than the median resume, as the server counts
  them (the union of the dated periods, a current job running to today; no job text asks for years);
- region: the job's category and the job's city (the recruiter hires locally);
- hidden skill: the job's category and a resume that names HIDDEN_SKILL, which no job text names.

Feedback is what recruiters send after being shown candidates: per job, the base's best-ranked among the
fitting half and some at random (with internal mobility, a fifth are internal applicants from the partner
occupation instead), rated 1.0 / 0.0 by the notion ("ratings"), or moved through a hiring process
("trackings": a good match reaches interview or hired, a poor one is rejected or stays applied).
For each budget of events, three rankings of the held-out jobs' whole pool are measured: the base, the
version the server's own training pipeline publishes from that feedback (training/pipeline.py: consent,
anonymisation, re-featurised and re-embedded records, split, the pulls and trees chosen on the validation
pool, the no-worse gate; a refused version leaves the base serving), and LightGBM's lambdarank trained from scratch
on the same pair features. P@10 and nDCG@10 by the notion, mean and standard error over the 24 held-out
jobs, and the base's own notion (same category) to show what the fine-tune costs elsewhere. The customer's
own scenario is measured too: the jobs they rated, ranking new applicants (the held-out pool), base and
fine-tuned P@10 over the jobs that received feedback.

Usage: .venv/bin/python -m bench.bench_learning [--budgets 50 100 300 1000] [--notions ...] [--kinds ...]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm
import msgspec
import numpy as np

from bench.bench_quality import ndcg_at
from bench.bench_training import JOB_IDS, Records, event, served_scores
from bench.devdata import Side, load_esco_jobs, load_livecareer
from cerebro_serve.engine import load_encoder
from cerebro_serve.objects import Job, Location, Profile
from cerebro_serve.scoring.algorithms import Algorithm, base_algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, features_of
from cerebro_serve.scoring.resemblance import Exemplars
from cerebro_serve.store.learning import FeedbackRow
from cerebro_serve.training.dataset import InsufficientData, WorkflowLog, rating_pairs, tracking_pairs
from cerebro_serve.training.pipeline import (
    exemplars_of,
    fit_version,
    labelled_pairs,
    pair_features,
    prepare,
    record_ids,
)

CITIES = {
    "Paris": (48.8566, 2.3522),
    "Lyon": (45.7640, 4.8357),
    "Marseille": (43.2965, 5.3698),
    "Bordeaux": (44.8378, -0.5792),
}
# Internal mobility the customer favours, both ways.
PARTNERS = {
    "TEACHER": "HR",
    "BPO": "SALES",
    "CHEF": "FITNESS",
    "AVIATION": "AUTOMOBILE",
    "ADVOCATE": "PUBLIC-RELATIONS",
    "ARTS": "APPAREL",
    "AGRICULTURE": "CONSTRUCTION",
    "HEALTHCARE": "CONSULTANT",
    "BANKING": "DIGITAL-MEDIA",
    "ACCOUNTANT": "INFORMATION-TECHNOLOGY",
    "DESIGNER": "ENGINEERING",
    "FINANCE": "BUSINESS-DEVELOPMENT",
}
PARTNERS |= {b: a for a, b in PARTNERS.items()}
HIDDEN_SKILL = "microsoft office"  # in 29% of the resumes, in none of the job texts
NOTIONS = ("mobility", "seniority", "region", "hidden skill")
KINDS = ("ratings", "trackings")
GOALS = [
    {"action": "applied", "outcome": "neutral"},
    {"action": "interview", "outcome": "positive"},
    {"action": "hired", "outcome": "positive"},
    {"action": "rejected", "outcome": "negative"},
]
SHOWN_FROM_TOP = 0.6  # of a job's events, the share on the base's best-ranked candidates; the rest at random
# With internal mobility, a fifth of a job's events are internal applicants from its partner occupation, in
# place of some of the random ones: at random alone, 300 events held 9 partner candidates for 12 pairs.
SHOWN_INTERNAL = 0.2


@dataclass
class World:
    jobs: Side  # the ESCO jobs, placed
    resumes: Side  # livecareer, placed
    plain_jobs: Side  # as bench/bench_training.py measures the base's own notion: no places
    plain_resumes: Side
    job_categories: np.ndarray
    categories: np.ndarray  # per resume
    job_city: np.ndarray
    city: np.ndarray  # per resume
    years: np.ndarray  # per resume, < 0 unknown
    senior_years: float  # the median resume's
    names_skill: np.ndarray  # per resume
    feedback_jobs: np.ndarray
    held_out_jobs: np.ndarray
    shown_pool: np.ndarray  # resume rows recruiters were shown (livecareer fitting half)
    held_out_pool: np.ndarray  # livecareer evaluation half

    def relevant(self, notion: str, job: int, rows: np.ndarray) -> np.ndarray:
        category = self.job_categories[job]
        same = self.categories[rows] == category
        if notion == "same category":
            return same
        if notion == "mobility":
            return same | (self.categories[rows] == PARTNERS[category])
        if notion == "seniority":
            return same & (self.years[rows] > self.senior_years)
        if notion == "region":
            return same & (self.city[rows] == self.job_city[job])
        if notion == "hidden skill":
            return same & self.names_skill[rows]
        raise ValueError(notion)

    def internal_applicants(
        self, notion: str, job: int, shown: np.ndarray, count: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Candidates from the job's partner occupation (internal mobility only) not already shown."""
        if notion != "mobility":
            return np.array([], dtype=self.shown_pool.dtype)
        partners = self.shown_pool[self.categories[self.shown_pool] == PARTNERS[self.job_categories[job]]]
        partners = np.setdiff1d(partners, shown)
        return rng.choice(partners, min(count, len(partners)), replace=False)


def _placed(side: Side, cities: np.ndarray) -> Side:
    features = [msgspec.structs.replace(f, lat=CITIES[c][0], lng=CITIES[c][1]) for f, c in zip(side.features, cities)]
    return Side(side.texts, features, side.vectors)


def build_world(encoder) -> World:
    livecareer, esco = load_livecareer(encoder), load_esco_jobs(encoder)
    rng = np.random.default_rng(0)
    names = np.array(list(CITIES))
    city, job_city = rng.choice(names, len(livecareer.categories)), rng.choice(names, len(esco.categories))
    years = np.array([f.years for f in livecareer.resumes.features])
    return World(
        jobs=_placed(esco.jobs, job_city),
        resumes=_placed(livecareer.resumes, city),
        plain_jobs=esco.jobs,
        plain_resumes=livecareer.resumes,
        job_categories=np.array(esco.categories),
        categories=np.array(livecareer.categories),
        job_city=job_city,
        city=city,
        years=years,
        senior_years=float(np.median(years[years >= 0])),
        names_skill=np.array([HIDDEN_SKILL in text.lower() for text in livecareer.resumes.texts]),
        feedback_jobs=np.flatnonzero(esco.variants == 0),
        held_out_jobs=np.flatnonzero(esco.variants == 1),
        shown_pool=livecareer.split(0),
        held_out_pool=livecareer.split(1),
    )


def feedback(world: World, notion: str, kind: str, budget: int, seed: int = 0) -> list[FeedbackRow]:
    """`budget` events: a few jobs when there are few (about twelve events each), all 24 beyond."""
    rng = np.random.default_rng(seed)
    jobs = rng.permutation(world.feedback_jobs)[: min(len(world.feedback_jobs), max(6, budget // 12))]
    base, rows = base_algorithm(), []
    for index, job in enumerate(jobs):
        count = budget // len(jobs) + (index < budget % len(jobs))
        scores = served_scores(base, world.jobs, job, world.resumes, world.shown_pool)
        top = world.shown_pool[np.argsort(-scores)][: round(count * SHOWN_FROM_TOP)]
        internal = world.internal_applicants(notion, int(job), top, round(count * SHOWN_INTERNAL), rng)
        rest = np.setdiff1d(world.shown_pool, np.concatenate([top, internal]))
        shown = np.concatenate([top, internal, rng.choice(rest, count - len(top) - len(internal), replace=False)])
        for profile, good in zip(shown, world.relevant(notion, job, shown)):
            if kind == "ratings":
                rows.append(event(int(profile), int(job), "rating", float(good), None, f"e{len(rows)}", len(rows)))
            else:
                action = rng.choice(["interview", "hired"] if good else ["rejected", "rejected", "applied"])
                rows.append(event(int(profile), int(job), "tracking", None, str(action), f"e{len(rows)}", len(rows)))
    return rows


@dataclass
class Trained:
    fine_tuned: Algorithm  # the base where the pipeline refused to publish
    published: bool
    note: str
    ranker: lightgbm.LGBMRanker | None
    summary: tuple[str, ...] = ()  # what the training's log says it learned


def train(records: Records, rows: list[FeedbackRow], kind: str) -> Trained:
    workflow = WorkflowLog()
    base = base_algorithm()
    try:
        pairs = labelled_pairs(rows, "rating" if kind == "ratings" else "tracking", GOALS, workflow)
        prepared = prepare(pairs, records.load(record_ids(pairs)), workflow)
    except InsufficientData as refused:
        return Trained(base, False, str(refused), None)
    described = records.describe(prepared.records)
    ranker = _lambdarank(prepared.train + prepared.validation, described)
    try:
        result = fit_version(base, prepared, described, workflow, lambda progress: False)
    except InsufficientData as refused:
        return Trained(base, False, str(refused), ranker)
    metrics = result.metrics
    pool = metrics["validation_pool"]
    note = (
        f"published: adapter pull {metrics['adapter']['pull']}, fusion pull {metrics['fusion_pull']}, "
        f"trees {metrics['tree_rounds']}, "
        f"preferred words {metrics['learned']['preferred_words'] or 'none'}; validation pool nDCG@10 "
        f"{pool['version']['ndcg@10']:.3f} vs {pool['previous']['ndcg@10']:.3f}"
    )
    return Trained(result.algorithm, True, note, ranker, tuple(metrics["learned"]["summary"]))


def _lambdarank(pairs, described) -> lightgbm.LGBMRanker:
    """From scratch, on the same pairs (training and validation: it has no gate to hold data back for)
    and the same pair features as the fine-tune, grouped by job."""
    pairs = sorted(pairs, key=lambda p: p.job_id)
    features = pair_features(pairs, described, None)
    groups = np.unique([p.job_id for p in pairs], return_counts=True)[1]
    ranker = lightgbm.LGBMRanker(
        objective="lambdarank", n_estimators=100, learning_rate=0.05, num_leaves=7, min_child_samples=5, verbose=-1
    )
    ranker.fit(features, np.array([p.label for p in pairs]), group=groups)
    return ranker


def held_out_scores(
    world: World, scorer: Callable[[int], np.ndarray], jobs: np.ndarray | None = None
) -> list[np.ndarray]:
    return [scorer(int(job)) for job in (world.held_out_jobs if jobs is None else jobs)]


def fusion_scorer(
    world: World, algorithm: Algorithm, placed: bool = True, rated: dict[int, Exemplars] | None = None
) -> Callable[[int], np.ndarray]:
    """As served: with `rated`, each job's rated candidates (by job index) are read as the server reads
    them (scoring/resemblance.py); a held-out job has none."""
    jobs, resumes = (world.jobs, world.resumes) if placed else (world.plain_jobs, world.plain_resumes)
    return lambda job: served_scores(algorithm, jobs, job, resumes, world.held_out_pool, (rated or {}).get(job))


def rated_candidates(world: World, rows: list[FeedbackRow], kind: str) -> dict[int, Exemplars]:
    """Each rated job's candidates (by job index) as the server reads them at scoring time: labelled as the
    training labels them, with their stored vectors (services/rated_candidates.py)."""
    pairs = rating_pairs(rows) if kind == "ratings" else tracking_pairs(rows, GOALS, WorkflowLog())
    stored = {p.profile_id: (world.resumes.vectors[p.profile_id], world.resumes.features[p.profile_id]) for p in pairs}
    return {job - JOB_IDS: rated for job, rated in exemplars_of(pairs, stored).items()}


def own_notion(world: World, algorithm: Algorithm) -> np.ndarray:
    """nDCG@10 of the same category, without places: what bench/bench_training.py measures of the base."""
    return quality(world, "same category", held_out_scores(world, fusion_scorer(world, algorithm, False)))["nDCG@10"]


def ranker_scorer(world: World, ranker: lightgbm.LGBMRanker) -> Callable[[int], np.ndarray]:
    columns = world.resumes.columns()
    rows = world.held_out_pool.astype(np.int64)

    def scores(job: int) -> np.ndarray:
        query = QueryFeatures.of(world.jobs.features[job], world.jobs.vectors[job], is_job=True)
        cosine = (world.resumes.vectors[rows, 0] @ world.jobs.vectors[job, 0]).astype(np.float32)
        return ranker.predict(features_of(columns, query, rows, cosine))

    return scores


def quality(
    world: World, notion: str, scores: list[np.ndarray], jobs: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """P@10 and nDCG@10 per job (the held-out ones unless `jobs`), over the held-out pool."""
    precision, ndcg = [], []
    for job, job_scores in zip(world.held_out_jobs if jobs is None else jobs, scores):
        relevant = world.relevant(notion, int(job), world.held_out_pool)
        precision.append(relevant[np.argsort(-job_scores, kind="stable")[:10]].mean())
        ndcg.append(ndcg_at(job_scores, relevant))
    return {"P@10": np.array(precision), "nDCG@10": np.array(ndcg)}


def _mean_se(values: np.ndarray) -> str:
    return f"{values.mean():.3f} ± {values.std(ddof=1) / np.sqrt(len(values)):.3f}"


def run_notion(world: World, records: Records, notion: str, kinds: list[str], budgets: list[int]) -> None:
    base_scores = held_out_scores(world, fusion_scorer(world, base_algorithm()))
    base = quality(world, notion, base_scores)
    base_own = own_notion(world, base_algorithm())
    rated_base = quality(
        world,
        notion,
        held_out_scores(world, fusion_scorer(world, base_algorithm()), world.feedback_jobs),
        world.feedback_jobs,
    )
    relevant = np.mean([world.relevant(notion, int(j), world.held_out_pool).sum() for j in world.held_out_jobs])
    print(f"\n### {notion} ({relevant:.1f} relevant of {len(world.held_out_pool)} per held-out job)")
    print(f"base: P@10 {_mean_se(base['P@10'])}, nDCG@10 {_mean_se(base['nDCG@10'])}")
    print(
        "| feedback | events | fine-tuned P@10 | Δ P@10 vs base | fine-tuned nDCG@10 | Δ nDCG@10 | "
        "LightGBM P@10 | LightGBM nDCG@10 | rated jobs, new applicants: P@10 base → fine-tuned | "
        f"Δ | same-category nDCG@10 (base {base_own.mean():.3f}) | seconds | what the pipeline did |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    logs = []
    for kind in kinds:
        for budget in budgets:
            started = time.perf_counter()
            rows = feedback(world, notion, kind, budget)
            trained = train(records, rows, kind)
            seconds = time.perf_counter() - started
            rated = np.unique([row.job_id - JOB_IDS for row in rows])
            scorer = fusion_scorer(world, trained.fine_tuned, rated=rated_candidates(world, rows, kind))
            rated_tuned = quality(world, notion, held_out_scores(world, scorer, rated), rated)["P@10"]
            rated_before = rated_base["P@10"][np.searchsorted(world.feedback_jobs, rated)]
            tuned_scores = held_out_scores(world, fusion_scorer(world, trained.fine_tuned))
            tuned = quality(world, notion, tuned_scores)
            own = own_notion(world, trained.fine_tuned)
            ranker = (
                quality(world, notion, held_out_scores(world, ranker_scorer(world, trained.ranker)))
                if trained.ranker is not None
                else None
            )
            cells = [
                kind,
                str(budget),
                _mean_se(tuned["P@10"]),
                _mean_se(tuned["P@10"] - base["P@10"]),
                _mean_se(tuned["nDCG@10"]),
                _mean_se(tuned["nDCG@10"] - base["nDCG@10"]),
                _mean_se(ranker["P@10"]) if ranker else "not trained",
                _mean_se(ranker["nDCG@10"]) if ranker else "not trained",
                f"{rated_before.mean():.3f} → {rated_tuned.mean():.3f}",
                _mean_se(rated_tuned - rated_before),
                f"{own.mean():.3f}",
                f"{seconds:.0f}",
                trained.note,
            ]
            print("| " + " | ".join(cells) + " |", flush=True)
            if trained.summary:
                logs.append(f"- {kind}, {budget} events: " + " ".join(trained.summary))
    print("\nWhat the published versions' training logs say they learned:\n" + "\n".join(logs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 300, 1000])
    parser.add_argument("--notions", nargs="+", default=list(NOTIONS), choices=NOTIONS)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu", "float32", "torch")
    print(f"encoder {encoder.name}; {platform.machine()}, {platform.processor() or 'cpu'}")
    world = build_world(encoder)
    livecareer_texts, job_texts = world.resumes.texts, world.jobs.texts

    def placed(record_id: int, record: Profile | Job) -> Profile | Job:
        city = world.job_city[record_id - JOB_IDS] if record_id >= JOB_IDS else world.city[record_id]
        location = Location(lat=CITIES[city][0], lng=CITIES[city][1])
        if isinstance(record, Job):
            return msgspec.structs.replace(record, location=location)
        return msgspec.structs.replace(record, info=msgspec.structs.replace(record.info, location=location))

    records = Records(encoder, livecareer_texts, job_texts, placed)
    for notion in args.notions:
        run_notion(world, records, notion, args.kinds, args.budgets)


if __name__ == "__main__":
    main()
