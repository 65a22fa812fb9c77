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
  On top of the linear part, small gradient-boosted trees (LightGBM lambdarank, monotone increasing in
  every feature, started from the linear scores) learn what a weighted sum cannot: when keyword evidence
  should outweigh the embeddings and when not. Their size is the cheapest within TREE_TOLERANCE of the
  best rjdb MRR on the inner split; a final Platt fit scales linear part and trees together.
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
from cerebro_serve.scoring.algorithms import BASE_ALGORITHM, DATA_DIR, FEATURES, MATCHING_ALGORITHM, Trees
from cerebro_serve.scoring.rerank import QueryFeatures, features_of

SHARED_FITS_MODEL = "all-MiniLM-L6-v2"  # its fits are the files without a model's name; others carry theirs
MINED_NEGATIVES = 8
RANDOM_NEGATIVES = 2
L2_GRID = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)  # chosen by validation inside the fitting half
TREE_GRID = ((4, 100, 0.1), (8, 100, 0.05), (16, 200, 0.05))  # (leaves, trees, learning rate), likewise
TREE_TOLERANCE = 0.005  # inner MRR differences below this are noise (~250 validation jobs)


Group = tuple[np.ndarray, np.ndarray]  # (candidates x features, relevant or not)


def training_groups(data, jobs: np.ndarray, seed: int = 0) -> list[Group]:
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


def match_groups(data, anchors: np.ndarray, pool: np.ndarray, seed: int = 0) -> list[Group]:
    """Per livecareer profile, read as a matching anchor: its 30 nearest profiles by cosine and 10 random
    ones, relevant when they share its category."""
    rng = np.random.default_rng(seed)
    columns = data.resumes.columns()
    categories = np.array(data.categories)
    groups = []
    for anchor in anchors:
        others = pool[pool != anchor]
        sims = data.resumes.vectors[others, 0] @ data.anchors[anchor, 0]
        near = others[np.argsort(-sims)[:30]]
        rows = np.concatenate([near, rng.choice(others[~np.isin(others, near)], size=10, replace=False)])
        query = QueryFeatures.of(data.resumes.features[anchor], data.anchors[anchor], is_job=True)
        cosine = (data.resumes.vectors[rows, 0] @ data.anchors[anchor, 0]).astype(np.float32)
        relevant = categories[rows] == categories[anchor]
        if relevant.any() and not relevant.all():
            groups.append((features_of(columns, query, rows.astype(np.int64), cosine), relevant))
    return groups


def occupation_groups(esco, livecareer, profiles: np.ndarray, seed: int = 0) -> list[Group]:
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


def fit_pairwise(groups: list[Group], l2: float, extra: list[Group] = ()) -> np.ndarray:
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


def choose_l2(fit: list[Group], quality: Callable[[np.ndarray], float], name: str, extra: list[Group] = ()) -> float:
    """The penalty whose weights, fitted on `fit` (and `extra`), give the best `quality` on held-apart data."""
    scores = {l2: quality(fit_pairwise(fit, l2, extra)) for l2 in L2_GRID}
    print(f"inner validation {name} by L2:", {f"{l2:g}": round(value, 4) for l2, value in scores.items()})
    return max(scores, key=scores.get)


def stacked(groups: list[Group]) -> tuple[np.ndarray, np.ndarray]:
    """Every group's candidates in one matrix, and their relevance as 0/1."""
    return np.concatenate([x for x, _ in groups]), np.concatenate([relevant for _, relevant in groups]).astype(int)


def calibrated(
    groups: list[Group], direction: np.ndarray, trees: Trees | None = None
) -> tuple[np.ndarray, float, float, Trees | None]:
    """Platt scaling of the pairwise score (linear part, plus trees if any) on the groups: (weights, bias,
    AUC, trees with their leaves scaled alike)."""
    x, y = stacked(groups)
    raw = x @ direction + (trees.evaluate(x) if trees is not None else 0.0)
    platt = LogisticRegression(C=1e6).fit(raw[:, None], y)
    scale = float(platt.coef_[0, 0])
    if trees is not None:
        trees = Trees(
            trees.feature,
            trees.threshold,
            trees.left,
            trees.right,
            (trees.value * scale).astype(np.float32),
            trees.roots,
        )
    return direction * scale, float(platt.intercept_[0]), float(roc_auc_score(y, raw)), trees


def fit_trees(groups: list[Group], weights: np.ndarray, leaves: int, n_trees: int, rate: float) -> Trees:
    """LightGBM lambdarank trees over the features, boosting from the linear scores, as flat arrays."""
    import lightgbm

    x, y = stacked(groups)
    ranker = lightgbm.LGBMRanker(
        objective="lambdarank",
        num_leaves=leaves,
        n_estimators=n_trees,
        learning_rate=rate,
        min_child_samples=10,
        monotone_constraints=[1] * x.shape[1],
        verbose=-1,
        random_state=0,
        deterministic=True,
    )
    ranker.fit(x, y, group=[len(r) for _, r in groups], init_score=x @ weights)
    arrays: dict[str, list[float]] = {"feature": [], "threshold": [], "left": [], "right": [], "value": [], "roots": []}

    def flatten(node: dict) -> int:
        index = len(arrays["feature"])
        for column in ("feature", "threshold", "left", "right", "value"):
            arrays[column].append(0)
        if "leaf_value" in node:
            arrays["feature"][index], arrays["value"][index] = -1, float(node["leaf_value"])
            return index
        assert node["decision_type"] == "<=", node["decision_type"]
        arrays["feature"][index], arrays["threshold"][index] = int(node["split_feature"]), float(node["threshold"])
        arrays["left"][index] = flatten(node["left_child"])
        arrays["right"][index] = flatten(node["right_child"])
        return index

    for tree in ranker.booster_.dump_model()["tree_info"]:
        arrays["roots"].append(flatten(tree["tree_structure"]))
    return Trees.from_dict(arrays)


def write(
    name: str,
    weights: np.ndarray,
    bias: float,
    l2: float,
    auc: float,
    fitted_on: str,
    model: str,
    trees: Trees | None = None,
) -> None:
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
    text = json.dumps(out, indent=2)
    if trees is not None:  # one line per node array: thousands of numbers would otherwise take a line each
        arrays = {name: [round(float(v), 6) for v in values] for name, values in trees.to_dict().items()}
        text = text[:-2] + ',\n  "trees": ' + json.dumps(arrays, separators=(",", ":")) + "\n}"
    path = DATA_DIR / (f"{name}.json" if model == SHARED_FITS_MODEL else f"{name}.{model}.json")
    path.write_text(text + "\n")
    print({key: value for key, value in out.items() if key != "trees"}, f"{len(trees.roots) if trees else 0} trees")
    print(f"wrote {path}")


def fit_base(encoder) -> None:
    data = load_rjdb(encoder)
    livecareer, esco = load_livecareer(encoder), load_esco_jobs(encoder)
    occupations = occupation_groups(esco, livecareer, livecareer.split(0))
    jobs = data.split(0)
    inner_fit, inner_check = training_groups(data, jobs[::2]), data.ranking_task(jobs[1::2])
    l2 = choose_l2(
        inner_fit,
        lambda w: inner_check.metrics([f @ w for f in inner_check.features])["mrr"],
        "MRR",
        occupations,
    )
    inner_weights = fit_pairwise(inner_fit, l2, occupations)
    tree_quality = {}
    for setting in TREE_GRID:
        trees = fit_trees(inner_fit + occupations, inner_weights, *setting)
        tree_quality[setting] = inner_check.metrics(
            [f @ inner_weights + trees.evaluate(f) for f in inner_check.features]
        )["mrr"]
    print("inner validation trees by (leaves, trees, rate):", {str(k): round(v, 4) for k, v in tree_quality.items()})
    # The cheapest trees the inner split cannot tell from the best: every candidate walks them at query time.
    best = max(tree_quality.values())
    setting = min((s for s, q in tree_quality.items() if q >= best - TREE_TOLERANCE), key=lambda s: s[0] * s[1])
    groups = training_groups(data, jobs)
    direction = fit_pairwise(groups, l2, occupations)
    trees = fit_trees(groups + occupations, direction, *setting)
    weights, bias, auc, trees = calibrated(groups + occupations, direction, trees)
    fitted_on = (
        f"rjdb fitting half ({len(groups)} jobs, {sum(len(r) for _, r in groups)} job-resume pairs) and "
        f"{len(occupations)} ESCO occupations against the livecareer-dev fitting half, weighing alike; "
        f"{len(trees.roots)} trees of {setting[0]} leaves (learning rate {setting[2]}) on top"
    )
    write(BASE_ALGORITHM, weights, bias, l2, auc, fitted_on, encoder.name, trees)


def fit_match(encoder) -> None:
    data = load_livecareer(encoder)
    profiles = data.split(0)
    inner_fit, inner_check = match_groups(data, profiles[::2], profiles[::2]), data.neighbour_task(profiles[1::2])
    l2 = choose_l2(inner_fit, lambda w: inner_check.precision([f @ w for f in inner_check.features]), "P@10")
    groups = match_groups(data, profiles, profiles)
    weights, bias, auc, _ = calibrated(groups, fit_pairwise(groups, l2))
    fitted_on = f"livecareer-dev fitting half: {len(groups)} profiles, {sum(len(r) for _, r in groups)} pairs"
    write(MATCHING_ALGORITHM, weights, bias, l2, auc, fitted_on, encoder.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--only", choices=["base", "match"])
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu", "float32", "torch")
    if args.only != "match":
        fit_base(encoder)
    if args.only != "base":
        fit_match(encoder)


if __name__ == "__main__":
    main()
