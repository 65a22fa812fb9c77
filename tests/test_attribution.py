"""The logit taken apart: exact Shapley values of the trees, and contributions that add up to the logit."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from cerebro_serve.scoring.algorithms import FEATURES, base_algorithm, matching_algorithm
from cerebro_serve.scoring.attribution import NEUTRAL, attribute, logits_of


def _brute_force_shapley(algorithm, x: np.ndarray) -> np.ndarray:
    """Shapley values of the trees' sum over all ten features, every coalition walked (1,024 of them)."""
    reference = np.full(len(FEATURES), NEUTRAL, dtype=np.float32)

    def value(coalition: tuple[int, ...]) -> float:
        point = reference.copy()
        point[list(coalition)] = x[list(coalition)]
        return float(algorithm.trees.leaves(point[None]).sum())

    m = len(FEATURES)
    out = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for coalition in itertools.combinations(others, size):
                out[i] += weight * (value((*coalition, i)) - value(coalition))
    return out


def test_tree_attributions_are_the_exact_shapley_values() -> None:
    rows = np.random.default_rng(3).random((3, len(FEATURES))).astype(np.float32)
    attribution = attribute(base_algorithm(), rows)
    for row, x in enumerate(rows):
        np.testing.assert_allclose(attribution.trees[row], _brute_force_shapley(base_algorithm(), x), atol=1e-12)
    assert matching_algorithm().trees is None  # a linear fusion: its attribution is the linear part alone
    assert not attribute(matching_algorithm(), rows).trees.any()


def test_contributions_add_up_to_the_logit_and_neutral_features_weigh_nothing() -> None:
    base = base_algorithm()
    rng = np.random.default_rng(5)
    trained = dataclasses.replace(  # what a training publishes: rescaled trees, a corrected linear part
        base,
        weights=(base.weights * 1.2 + rng.normal(0, 0.5, len(FEATURES))).astype(np.float32),
        trees=dataclasses.replace(base.trees, value=(base.trees.value * 1.2).astype(np.float32)),
    )
    rows = rng.random((50, len(FEATURES))).astype(np.float32)
    rows[:, FEATURES.index("proximity")] = NEUTRAL  # no location on one side
    for algorithm in (base, trained):
        attribution = attribute(algorithm, rows)
        total = attribution.reference_logit + attribution.contributions.sum(axis=1)
        np.testing.assert_allclose(total, attribution.logits, atol=1e-9)
        np.testing.assert_allclose(1 / (1 + np.exp(-attribution.logits)), algorithm.score(rows), atol=1e-6)
        assert np.all(attribution.contributions[:, FEATURES.index("proximity")] == 0.0)
    neutral = np.full((1, len(FEATURES)), NEUTRAL, dtype=np.float32)
    assert attribute(base, neutral).reference_logit == logits_of(base, neutral)[0]
    assert not attribute(base, neutral).contributions.any()


def test_the_trees_know_which_features_each_splits_on() -> None:
    trees = base_algorithm().trees
    for tree, root in enumerate(trees.roots):
        used = {int(trees.feature[node]) for node in range(len(trees.feature)) if trees.node_slot[node] >= 0}
        assert set(trees.tree_features[tree][trees.tree_features[tree] >= 0]) <= used
        assert trees.feature[root] < 0 or trees.tree_features[tree][trees.node_slot[root]] == trees.feature[root]
