"""Exact attribution of a fusion's logit to the features it read.

A fusion's logit is `bias + w . f + trees(f)`. Each feature's contribution is measured from a reference
pair about which nothing is known: every feature at the re-ranker's neutral value (0.5, what it reads when
neither side can speak to a criterion). The linear part contributes `w_i (f_i - 0.5)`, exactly. The trees'
part is the Shapley value of their sum between the reference and the pair ("baseline Shapley", the
interventional TreeSHAP of one background point): every coalition of features takes the pair's values, the
others the reference's. Shapley values add up over a sum of trees, and a tree of 4 leaves splits on 3
features at most, so each tree's coalitions are enumerated outright (8 walks a tree). So the reference's
logit plus the contributions is the logit, to float64 rounding, and a feature at its neutral value
contributes exactly 0.
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
    """Shapley values of the trees' sum, the game played between `reference` and each row. Shapley values
    add up over a sum of games, so each tree is its own game over the few features it splits on (3 at
    most in a tree of 4 leaves): every tree is walked once per coalition of its own features, all rows,
    trees and coalitions at once. Narrower trees get dummy slots, which change no one's share."""
    rows = len(features)
    tree_count, width = trees.tree_features.shape
    coalitions = (np.arange(1 << width)[:, None] >> np.arange(width)[None, :]) & 1  # (2^width, width)
    nodes = np.broadcast_to(trees.roots.astype(np.int64)[None, :, None], (rows, tree_count, len(coalitions))).copy()
    while True:
        row, tree, coalition = np.nonzero(trees.feature[nodes] >= 0)
        if not len(row):
            break
        at = nodes[row, tree, coalition]
        feature = trees.feature[at]
        played = coalitions[coalition, trees.node_slot[at]] == 1
        value = np.where(played, features[row, feature], reference[feature])
        nodes[row, tree, coalition] = np.where(value <= trees.threshold[at], trees.left[at], trees.right[at])
    values = trees.value[nodes].astype(np.float64)  # (rows, trees, coalitions)
    sizes = coalitions.sum(axis=1)
    out = np.zeros((rows, len(FEATURES)), dtype=np.float64)
    for slot in range(width):
        without = np.flatnonzero(coalitions[:, slot] == 0)
        share = np.array([math.factorial(s) * math.factorial(width - s - 1) for s in sizes[without]])
        shapley = (values[:, :, without | (1 << slot)] - values[:, :, without]) @ (share / math.factorial(width))
        owners = np.flatnonzero(trees.tree_features[:, slot] >= 0)
        to_feature = np.zeros((tree_count, len(FEATURES)))
        to_feature[owners, trees.tree_features[owners, slot]] = 1.0
        out += shapley @ to_feature
    return out
