"""Exact attribution of a fusion's logit to the features it read.

A fusion's logit is `bias + w . f + trees(f)`. Each feature's contribution is measured from a reference
pair about which nothing is known: every feature at the re-ranker's neutral value (0.5, what it reads when
neither side can speak to a criterion). The linear part contributes `w_i (f_i - 0.5)`, exactly. The trees'
part is the Shapley value of their sum between the reference and the pair ("baseline Shapley", the
interventional TreeSHAP of one background point): every coalition of features takes the pair's values, the
others the reference's, and the coalitions are enumerated outright over the features the trees split on
(4 for the shipped fusions, 10 at most: 1,024 walks a row). So the reference's logit plus the contributions
is the logit, to float64 rounding, and a feature at its neutral value contributes exactly 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cerebro_serve.scoring.algorithms import FEATURES, Algorithm, Trees

NEUTRAL = 0.5  # csrc/rerank.cpp kNeutral


@dataclass(frozen=True, slots=True)
class Attribution:
    """Per row: the logit and each feature's part of it (rows x len(FEATURES), float64)."""

    reference_logit: float  # the logit of a pair with every feature neutral
    linear: np.ndarray
    trees: np.ndarray
    logits: np.ndarray

    @property
    def contributions(self) -> np.ndarray:
        return self.linear + self.trees


def logits_of(algorithm: Algorithm, features: np.ndarray) -> np.ndarray:
    """The fusion's logits in float64 (the native re-ranker sums in float32)."""
    features = np.asarray(features, dtype=np.float32).reshape(-1, len(FEATURES))
    logits = algorithm.bias + features.astype(np.float64) @ algorithm.weights.astype(np.float64)
    if algorithm.trees is not None:
        logits = logits + algorithm.trees.leaves(features).sum(axis=1)
    return logits


def attribute(algorithm: Algorithm, features: np.ndarray) -> Attribution:
    features = np.asarray(features, dtype=np.float32).reshape(-1, len(FEATURES))
    reference = np.full(len(FEATURES), NEUTRAL, dtype=np.float32)
    weights = algorithm.weights.astype(np.float64)
    linear = (features.astype(np.float64) - NEUTRAL) * weights
    trees = np.zeros_like(linear)
    if algorithm.trees is not None:
        trees = _tree_shapley(algorithm.trees, features, reference)
    return Attribution(float(logits_of(algorithm, reference)[0]), linear, trees, logits_of(algorithm, features))


def _tree_shapley(trees: Trees, features: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shapley values of the trees' sum, game played between `reference` and each row."""
    used = trees.split_features()
    m = len(used)
    coalitions = (np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1  # (2^m, m): bit j = used[j] in
    hybrids = np.broadcast_to(reference, (len(features), 1 << m, len(FEATURES))).copy()
    for j, feature in enumerate(used):
        hybrids[:, :, feature] = np.where(
            coalitions[:, j][None, :] == 1, features[:, feature][:, None], reference[feature]
        )
    values = trees.leaves(hybrids.reshape(-1, len(FEATURES))).sum(axis=1).reshape(len(features), 1 << m)
    sizes = coalitions.sum(axis=1)
    out = np.zeros((len(features), len(FEATURES)), dtype=np.float64)
    for j, feature in enumerate(used):
        without = np.flatnonzero(coalitions[:, j] == 0)
        share = np.array([math.factorial(s) * math.factorial(m - s - 1) for s in sizes[without]]) / math.factorial(m)
        out[:, feature] = (values[:, without | (1 << j)] - values[:, without]) @ share
    return out
