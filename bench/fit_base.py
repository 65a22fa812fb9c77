"""Fit the `cerebro-base` fusion weights on the fitting half of rjdb and write the algorithm file.

For each job of the fitting half, its matched resume must outrank: its weaker copy (skills removed,
experience cut), the four resumes of other jobs most similar to it by cosine (mined hard negatives) and
two random ones. The weights minimise a pairwise logistic loss (RankNet, linear) under the constraint that
no weight is negative (a closer, better-covered, more experienced candidate never scores lower), with a
L2 penalty chosen on an inner split of the fitting half (by MRR); a feature that never varies in the data keeps weight 0 rather than a fitted accident.
A Platt fit of the pairwise score on the same pairs then makes the output a calibrated probability.
The evaluation half is never seen here; bench/bench_quality.py reports on it. Usage:

    .venv/bin/python -m bench.fit_base [--model all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from bench.devdata import load_rjdb
from cerebro_serve.engine import load_encoder
from cerebro_serve.scoring.algorithms import BASE_ALGORITHM, DATA_DIR, FEATURES
from cerebro_serve.scoring.rerank import QueryFeatures, features_of

MINED_NEGATIVES = 8
RANDOM_NEGATIVES = 2
L2_GRID = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)  # chosen by validation inside the fitting half


def training_groups(data, jobs: np.ndarray, seed: int = 0) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Per job: feature rows, the matched resume first, then its negatives."""
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
        groups.append(features_of(columns, query, rows, cosine))
    return groups


def fit_pairwise(groups: list[np.ndarray], l2: float) -> np.ndarray:
    """Non-negative weights minimising mean log(1 + exp(-(w . (x_pos - x_neg)))) + l2 |w|^2."""
    differences = np.concatenate([group[0][None, :] - group[1:] for group in groups]).astype(np.float64)
    varies = np.concatenate(groups).std(axis=0) > 1e-6

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = differences @ w
        value = np.logaddexp(0.0, -margin).mean() + l2 * w @ w
        gradient = -(differences * (1.0 / (1.0 + np.exp(margin)))[:, None]).mean(axis=0) + 2 * l2 * w
        return float(value), gradient

    bounds = [(0.0, None) if v else (0.0, 0.0) for v in varies]
    result = minimize(loss, np.ones(differences.shape[1]) * varies, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x


def choose_l2(data, jobs: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """The penalty whose weights, fitted on one half of `jobs`, rank the other half's resumes best (MRR)."""
    fit, check = training_groups(data, jobs[::2]), data.ranking_task(jobs[1::2])
    scores = {l2: check.metrics([f @ fit_pairwise(fit, l2) for f in check.features])["mrr"] for l2 in L2_GRID}
    print("inner validation MRR by L2:", {f"{l2:g}": round(mrr, 4) for l2, mrr in scores.items()})
    return max(scores, key=scores.get)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu")
    data = load_rjdb(encoder)
    l2 = choose_l2(data, data.split(0))
    groups = training_groups(data, data.split(0))
    direction = fit_pairwise(groups, l2)
    x = np.concatenate(groups)
    y = np.concatenate([[1] + [0] * (len(group) - 1) for group in groups])
    platt = LogisticRegression(C=1e6).fit((x @ direction)[:, None], y)
    weights = direction * platt.coef_[0, 0]
    bias = float(platt.intercept_[0])
    auc = roc_auc_score(y, x @ weights)
    out = {
        "name": BASE_ALGORITHM,
        "version": 1,
        "model": encoder.name,
        "features": list(FEATURES),
        "weights": [round(float(v), 5) for v in weights],
        "bias": round(bias, 5),
        "fitted_on": f"rjdb fitting half: {len(groups)} jobs, {len(y)} job-resume pairs (bench/fit_base.py)",
        "fit_auc": round(float(auc), 4),
        "l2": l2,
    }
    path = DATA_DIR / f"{BASE_ALGORITHM}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
