"""Fit the fusion weights of `cerebro-base` (on rjdb) and `cerebro-match` (on livecareer-dev) and write
the algorithm files.

Both minimise a pairwise logistic loss (RankNet, linear) under the constraint that no weight is negative
(a closer, better-covered, more experienced candidate never scores lower), with an L2 penalty chosen on
an inner split of the fitting half; a feature that never varies in the data keeps weight 0 rather than a
fitted accident. A Platt fit of the pairwise score then makes the output a calibrated probability.

- cerebro-base, a job against profiles, from two sources weighing alike: for each rjdb job of the fitting
  half, its matched resume must outrank its weaker copy (skills removed, experience cut), the 8 resumes
  of other jobs most similar to it by cosine (mined hard negatives) and 2 random ones; and for the first
  ESCO occupation mapped to each livecareer category (bench/devdata.py), the fitting-half resumes of that
  category must outrank the others among its 50 nearest and 20 random ones. L2 chosen by rjdb MRR.
- cerebro-match, a profile against profiles: for each livecareer profile of the fitting half, among its
  30 nearest profiles by cosine and 10 random ones, those of its category must outrank the others.
  L2 chosen by category precision@10.

The evaluation halves are never seen here; bench/bench_quality.py reports on them. Usage:

    .venv/bin/python -m bench.fit_base [--model all-MiniLM-L6-v2] [--only base|match]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from bench.devdata import load_esco_jobs, load_livecareer, load_rjdb
from cerebro_serve.engine import load_encoder
from cerebro_serve.scoring.algorithms import BASE_ALGORITHM, DATA_DIR, FEATURES, MATCHING_ALGORITHM
from cerebro_serve.scoring.rerank import QueryFeatures, features_of

MINED_NEGATIVES = 8
RANDOM_NEGATIVES = 2
L2_GRID = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)  # chosen by validation inside the fitting half


Group = tuple[np.ndarray, np.ndarray]  # (candidates x features, relevant or not)


def training_groups(data, jobs: np.ndarray, seed: int = 0) -> list[Group]:  # type: ignore[no-untyped-def]
    """Per job: its matched resume (relevant) and its negatives."""
    rng = np.random.default_rng(seed)
    columns = data.resumes.columns()
    pool = np.sort(np.concatenate([2 * jobs, 2 * jobs + 1]))
    groups = []
    for job in jobs:
        sims = data.resumes.vectors[pool, 0] @ data.jobs.vectors[job, 0]
        others = pool[(pool // 2) != job]
        other_sims = sims[(pool // 2) != job]
        mined = others[np.argsort(-other_sims)[:MINED_NEGATIVES]]
        random = rng.choice(others[~np.isin(others, mined)], size=RANDOM_NEGATIVES, replace=False)
        rows = np.array([2 * job, 2 * job + 1, *mined, *random], dtype=np.int64)
        query = QueryFeatures.of(data.jobs.features[job], data.jobs.vectors[job], is_job=True)
        cosine = (data.resumes.vectors[rows, 0] @ data.jobs.vectors[job, 0]).astype(np.float32)
        groups.append((features_of(columns, query, rows, cosine), np.arange(len(rows)) == 0))
    return groups


def match_groups(data, anchors: np.ndarray, pool: np.ndarray, seed: int = 0) -> list[Group]:  # type: ignore[no-untyped-def]
    """Per livecareer profile: its 30 nearest profiles by cosine and 10 random ones, relevant when they
    share its category."""
    rng = np.random.default_rng(seed)
    columns = data.resumes.columns()
    categories = np.array(data.categories)
    groups = []
    for anchor in anchors:
        others = pool[pool != anchor]
        sims = data.resumes.vectors[others, 0] @ data.resumes.vectors[anchor, 0]
        near = others[np.argsort(-sims)[:30]]
        rows = np.concatenate([near, rng.choice(others[~np.isin(others, near)], size=10, replace=False)])
        query = QueryFeatures.of(data.resumes.features[anchor], data.resumes.vectors[anchor], is_job=True)
        cosine = (data.resumes.vectors[rows, 0] @ data.resumes.vectors[anchor, 0]).astype(np.float32)
        relevant = categories[rows] == categories[anchor]
        if relevant.any() and not relevant.all():
            groups.append((features_of(columns, query, rows.astype(np.int64), cosine), relevant))
    return groups


def occupation_groups(esco, livecareer, profiles: np.ndarray, seed: int = 0) -> list[Group]:  # type: ignore[no-untyped-def]
    """Per ESCO occupation of the fitting set (the first of each category): its 50 nearest livecareer
    profiles by cosine and 20 random ones, relevant when their category is the occupation's."""
    rng = np.random.default_rng(seed)
    columns = livecareer.resumes.columns()
    categories = np.array(livecareer.categories)
    groups = []
    for job in np.flatnonzero(esco.variants == 0):
        sims = livecareer.resumes.vectors[profiles, 0] @ esco.jobs.vectors[job, 0]
        near = profiles[np.argsort(-sims)[:50]]
        rows = np.concatenate([near, rng.choice(profiles[~np.isin(profiles, near)], size=20, replace=False)])
        query = QueryFeatures.of(esco.jobs.features[job], esco.jobs.vectors[job], is_job=True)
        cosine = (livecareer.resumes.vectors[rows, 0] @ esco.jobs.vectors[job, 0]).astype(np.float32)
        relevant = categories[rows] == esco.categories[job]
        if relevant.any() and not relevant.all():
            groups.append((features_of(columns, query, rows.astype(np.int64), cosine), relevant))
    return groups


def fit_pairwise(groups: list[Group], l2: float, extra: list[Group] = ()) -> np.ndarray:  # type: ignore[assignment]
    """Non-negative weights minimising mean log(1 + exp(-(w . (x_pos - x_neg)))) + l2 |w|^2 over every
    (relevant, irrelevant) pair of a group; `extra` groups (another source) weigh as much in total."""

    def pairs(source: list[Group]) -> np.ndarray:
        return np.concatenate(
            [(x[r][:, None, :] - x[~r][None, :, :]).reshape(-1, x.shape[1]) for x, r in source]
        ).astype(np.float64)

    sources = [pairs(groups)] + ([pairs(list(extra))] if extra else [])
    varies = np.concatenate([x for x, _ in [*groups, *extra]]).std(axis=0) > 1e-6

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = l2 * w @ w, 2 * l2 * w
        for differences in sources:
            margin = differences @ w
            value += np.logaddexp(0.0, -margin).mean() / len(sources)
            gradient = gradient - (differences * (1.0 / (1.0 + np.exp(margin)))[:, None]).mean(axis=0) / len(sources)
        return float(value), gradient

    bounds = [(0.0, None) if v else (0.0, 0.0) for v in varies]
    result = minimize(loss, np.ones(len(varies)) * varies, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x


def choose_l2(fit: list[Group], quality: Callable[[np.ndarray], float], name: str, extra: list[Group] = ()) -> float:  # type: ignore[assignment]
    """The penalty whose weights, fitted on `fit` (and `extra`), give the best `quality` on held-apart data."""
    scores = {l2: quality(fit_pairwise(fit, l2, extra)) for l2 in L2_GRID}
    print(f"inner validation {name} by L2:", {f"{l2:g}": round(value, 4) for l2, value in scores.items()})
    return max(scores, key=scores.get)  # type: ignore[arg-type]


def calibrated(groups: list[Group], direction: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Platt scaling of the pairwise score on the groups: (weights, bias, AUC)."""
    x = np.concatenate([x for x, _ in groups])
    y = np.concatenate([relevant for _, relevant in groups]).astype(int)
    platt = LogisticRegression(C=1e6).fit((x @ direction)[:, None], y)
    weights = direction * platt.coef_[0, 0]
    return weights, float(platt.intercept_[0]), float(roc_auc_score(y, x @ weights))


def write(name: str, weights: np.ndarray, bias: float, l2: float, auc: float, fitted_on: str, model: str) -> None:
    out = {
        "name": name,
        "version": 1,
        "model": model,
        "features": list(FEATURES),
        "weights": [round(float(v), 5) for v in weights],
        "bias": round(bias, 5),
        "fitted_on": fitted_on,
        "fit_auc": round(auc, 4),
        "l2": l2,
    }
    path = DATA_DIR / f"{name}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))
    print(f"wrote {path}")


def fit_base(encoder) -> None:  # type: ignore[no-untyped-def]
    data = load_rjdb(encoder)
    livecareer, esco = load_livecareer(encoder), load_esco_jobs(encoder)
    occupations = occupation_groups(esco, livecareer, livecareer.split(0))
    jobs = data.split(0)
    inner_fit, inner_check = training_groups(data, jobs[::2]), data.ranking_task(jobs[1::2])
    l2 = choose_l2(
        inner_fit, lambda w: inner_check.metrics([f @ w for f in inner_check.features])["mrr"], "MRR",
        occupations,
    )
    groups = training_groups(data, jobs)
    weights, bias, auc = calibrated(groups + occupations, fit_pairwise(groups, l2, occupations))
    fitted_on = (
        f"rjdb fitting half ({len(groups)} jobs, {sum(len(r) for _, r in groups)} job-resume pairs) and "
        f"{len(occupations)} ESCO occupations against the livecareer-dev fitting half, weighing alike"
    )
    write(BASE_ALGORITHM, weights, bias, l2, auc, fitted_on, encoder.name)


def fit_match(encoder) -> None:  # type: ignore[no-untyped-def]
    data = load_livecareer(encoder)
    profiles = data.split(0)
    inner_fit, inner_check = match_groups(data, profiles[::2], profiles[::2]), data.neighbour_task(profiles[1::2])
    l2 = choose_l2(inner_fit, lambda w: inner_check.precision([f @ w for f in inner_check.features]), "P@10")
    groups = match_groups(data, profiles, profiles)
    weights, bias, auc = calibrated(groups, fit_pairwise(groups, l2))
    fitted_on = f"livecareer-dev fitting half: {len(groups)} profiles, {sum(len(r) for _, r in groups)} pairs"
    write(MATCHING_ALGORITHM, weights, bias, l2, auc, fitted_on, encoder.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--only", choices=["base", "match"])
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu")
    if args.only != "match":
        fit_base(encoder)
    if args.only != "base":
        fit_match(encoder)


if __name__ == "__main__":
    main()
