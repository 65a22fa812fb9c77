"""Trees boosted on top of a fine-tuned fusion: the interactions a linear correction cannot learn.

A customer's notion often holds only among candidates who fit in the first place ("more senior, among
those who do the job"): a linear term for seniority also lifts senior people who do not fit. A few small
regression trees fitted on the feedback, boosting from the fusion's own logit, can split on the match
first and on the preference second. Each round is a Newton step of the logistic loss (a tree fitted to
-gradient / hessian with the hessian as weight), shrunk by RATE; trees stay monotone increasing in every
feature like the shipped ones, and are appended to the algorithm's trees, so the C++ re-ranker serves
them unchanged and attribution explains them. How many rounds serve is chosen by validation
(training/pipeline.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.tree import DecisionTreeRegressor

from cerebro_serve.scoring.algorithms import FEATURES, Algorithm, Trees
from cerebro_serve.training.trainer import Labelled, base_logits

RATE = 0.3
LEAVES = 4  # at most three splits: a preference under a match under another
MIN_LEAF_SHARE = 0.05  # of the training pairs' weight


def boosted(algorithm: Algorithm, train: Labelled, rounds: int) -> Algorithm:
    """`algorithm` with `rounds` trees fitted on the training pairs appended to its trees."""
    logits = base_logits(algorithm, train.features)
    features = train.features.astype(np.float32)
    weights = train.weights / train.weights.sum()
    trees = []
    for round_index in range(rounds):
        probability = 1.0 / (1.0 + np.exp(-logits))
        gradient = probability - train.labels
        hessian = np.maximum(probability * (1.0 - probability), 1e-6)
        tree = DecisionTreeRegressor(
            max_leaf_nodes=LEAVES,
            min_weight_fraction_leaf=MIN_LEAF_SHARE,
            monotonic_cst=[1] * len(FEATURES),
            random_state=round_index,
        )
        tree.fit(features, -gradient / hessian, sample_weight=weights * hessian)
        step = flat_tree(tree, RATE)
        logits = logits + step.evaluate(features)
        trees.append(step)
    if not trees:
        return algorithm
    joined = [algorithm.trees, *trees] if algorithm.trees is not None else trees
    return dataclasses.replace(algorithm, trees=_joined(joined))


def flat_tree(tree: DecisionTreeRegressor, rate: float) -> Trees:
    """A fitted scikit-learn tree as Trees' flat arrays, its leaves scaled by `rate`."""
    inner = tree.tree_
    leaf = inner.children_left < 0
    # scikit-learn compares float32 features with float64 thresholds: round each threshold down to the
    # float32 below it so that `x <= threshold` decides every float32 x the same way.
    threshold = inner.threshold.astype(np.float32)
    rounded_up = threshold.astype(np.float64) > inner.threshold
    threshold[rounded_up] = np.nextafter(threshold[rounded_up], np.float32(-np.inf))
    return Trees(
        feature=np.where(leaf, -1, inner.feature).astype(np.int32),
        threshold=np.where(leaf, 0.0, threshold).astype(np.float32),
        left=np.where(leaf, 0, inner.children_left).astype(np.int32),
        right=np.where(leaf, 0, inner.children_right).astype(np.int32),
        value=(inner.value[:, 0, 0] * rate).astype(np.float32),
        roots=np.zeros(1, dtype=np.int32),
    )


def _joined(forest: list[Trees]) -> Trees:
    """One Trees holding every tree of `forest`, node indexes shifted past the ones before."""
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in ("feature", "threshold", "left", "right", "value")}
    roots, offset = [], 0
    for trees in forest:
        inner = trees.feature >= 0
        arrays["feature"].append(trees.feature)
        arrays["threshold"].append(trees.threshold)
        arrays["left"].append(np.where(inner, trees.left + offset, trees.left))
        arrays["right"].append(np.where(inner, trees.right + offset, trees.right))
        arrays["value"].append(trees.value)
        roots.append(trees.roots + offset)
        offset += len(trees.feature)
    return Trees(**{name: np.concatenate(parts) for name, parts in arrays.items()}, roots=np.concatenate(roots))
