"""Fine-tuning the fusion on a workspace's labels, starting from the algorithm it forked.

The new logit is `(1 + a) * base_logit(f) + d + v . f`: a rescaling of the base fusion (linear part and
trees alike) plus a linear correction over the same features. The penalty pulls (a, d, v) towards 0,
that is towards the base, so labels move the ranking where they agree and leave it alone elsewhere; how
hard it pulls (`pull`) is for the caller to choose by validation (training/pipeline.py), since a customer
whose notion of fit differs from the base's needs room that one who agrees with it does not. The result
is again a linear part plus trees, which the C++ re-ranker serves unchanged.
scikit-learn's logistic regression cannot hold the base logit fixed as an offset, so this is a small
L-BFGS fit (scipy) whose callback gives the loss curve per iteration and the point to cancel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from cerebro_serve.scoring.algorithms import RATED_RESEMBLANCE, Algorithm

MAX_ITERATIONS = 200
# The correction on the job's rated candidates (scoring/resemblance.py) is held by this weak pull, whatever
# `pull`: what it measures is the workspace's own ratings, which no previous version knew better, and its
# spread is narrow (a few hundredths), so the pull that keeps the other weights near the previous version's
# would keep it near nothing (bench/RESULTS.md: weight 0.2 at pull 10, against 2.4 so held).
RESEMBLANCE_PULL = 0.01


class Cancelled(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Labelled:
    """Pairs as the model sees them: features (n x len(FEATURES)), labels and sample weights."""

    features: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True, slots=True)
class FineTuned:
    algorithm: Algorithm
    curve: list[dict[str, Any]]  # per iteration: training and validation log loss


def base_logits(algorithm: Algorithm, features: np.ndarray) -> np.ndarray:
    logits = algorithm.bias + features @ algorithm.weights
    if algorithm.trees is not None:
        logits = logits + algorithm.trees.evaluate(features)
    return logits.astype(np.float64)


def _log_loss(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    # log(1 + e^-z) for positives, log(1 + e^z) for negatives, computed without overflow.
    signed = np.where(labels == 1, -logits, logits)
    return float(np.average(np.logaddexp(0.0, signed), weights=weights))


def fine_tune(
    base: Algorithm,
    train: Labelled,
    validation: Labelled,
    should_stop: Callable[[float], bool],
    pull: float = 1.0,
) -> FineTuned:
    """`pull` is the prior's precision on each parameter, in units of one pair's loss (1: a unit Gaussian
    prior). `should_stop(progress)` is called after every iteration; True cancels (raises Cancelled)."""
    z_train, z_validation = base_logits(base, train.features), base_logits(base, validation.features)
    x_train = train.features.astype(np.float64)
    penalty = np.full(2 + train.features.shape[1], pull / len(train.labels))
    penalty[2 + RATED_RESEMBLANCE] = RESEMBLANCE_PULL / len(train.labels)
    signs = np.where(train.labels == 1, -1.0, 1.0)
    weights = train.weights / train.weights.sum()

    def logits(theta: np.ndarray, z: np.ndarray, x: np.ndarray) -> np.ndarray:
        return (1.0 + theta[0]) * z + theta[1] + x @ theta[2:]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        signed = signs * logits(theta, z_train, x_train)
        loss = float(weights @ np.logaddexp(0.0, signed)) + float(penalty @ theta**2)
        slope = weights * signs / (1.0 + np.exp(-signed))  # d loss / d logit
        gradient = np.concatenate([[slope @ z_train, slope.sum()], x_train.T @ slope]) + 2 * penalty * theta
        return loss, gradient

    curve: list[dict[str, Any]] = []

    def record(theta: np.ndarray) -> None:
        curve.append(
            {
                "iteration": len(curve),
                "train_loss": round(_log_loss(logits(theta, z_train, x_train), train.labels, train.weights), 6),
                "validation_loss": round(
                    _log_loss(logits(theta, z_validation, validation.features), validation.labels, validation.weights),
                    6,
                ),
            }
        )
        if should_stop(min(1.0, len(curve) / MAX_ITERATIONS)):
            raise Cancelled

    theta = np.zeros(2 + train.features.shape[1])
    record(theta)  # iteration 0: the base itself
    # Resembling the job's good candidates more never lowers a score: its weight stays >= 0. The bound holds
    # the correction; the clip below covers a rescaling (1 + a < 1) of a weight the previous version had.
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * len(theta)
    bounds[2 + RATED_RESEMBLANCE] = (-float(base.weights[RATED_RESEMBLANCE]), None)
    result = minimize(
        objective,
        theta,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=record,
        options={"maxiter": MAX_ITERATIONS},
    )
    scale, shift, correction = 1.0 + result.x[0], result.x[1], result.x[2:]
    trees = base.trees
    if trees is not None:
        trees = dataclasses.replace(trees, value=(trees.value * scale).astype(np.float32))
    weights = (base.weights * scale + correction).astype(np.float32)
    weights[RATED_RESEMBLANCE] = max(weights[RATED_RESEMBLANCE], 0.0)
    algorithm = dataclasses.replace(
        base,
        weights=weights,
        bias=float(base.bias * scale + shift),
        trees=trees,
    )
    return FineTuned(algorithm, curve)
