"""Trees boosted on a fine-tuned fusion (training/boosting.py): they learn what a linear correction cannot,
and they are the same trees wherever they are read (scikit-learn's fit, our flat arrays, a stored version)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeRegressor

from cerebro_serve.scoring.algorithms import FEATURES, Algorithm, base_algorithm
from cerebro_serve.training.boosting import boosted, flat_tree
from cerebro_serve.training.trainer import Labelled, base_logits, fine_tune

MATCH, SENIORITY = FEATURES.index("cosine"), FEATURES.index("seniority")


def _interaction(rng: np.random.Generator, n: int) -> Labelled:
    """Recruiters who want seniority only among candidates who match: a preference under a match."""
    features = rng.uniform(0, 1, size=(n, len(FEATURES))).astype(np.float32)
    labels = ((features[:, MATCH] > 0.6) & (features[:, SENIORITY] > 0.5)).astype(np.float64)
    return Labelled(features, labels, np.ones(n))


def test_boosted_trees_learn_an_interaction_the_linear_fine_tune_cannot() -> None:
    rng = np.random.default_rng(0)
    train, validation, held_out = _interaction(rng, 400), _interaction(rng, 200), _interaction(rng, 2000)
    linear = fine_tune(base_algorithm(), train, validation, lambda progress: False, pull=0.01).algorithm
    tuned = boosted(linear, train, rounds=30)

    def auc(algorithm: Algorithm) -> float:
        return float(roc_auc_score(held_out.labels, base_logits(algorithm, held_out.features)))

    assert auc(linear) < 0.985 and auc(tuned) > 0.995, (auc(linear), auc(tuned))
    assert len(tuned.trees.roots) == len(linear.trees.roots) + 30
    # The base's trees come first, unchanged; the new ones only add to them.
    base_part = tuned.trees.leaves(held_out.features)[:, : len(linear.trees.roots)]
    np.testing.assert_allclose(base_part.sum(axis=1), linear.trees.evaluate(held_out.features), rtol=1e-5, atol=1e-5)
    assert boosted(linear, train, rounds=0) is linear


def test_flat_trees_decide_every_float32_like_scikit_learn() -> None:
    """Thresholds are float64 midpoints in scikit-learn; values on either side of each one, and on it,
    must take the same branch in the float32 walk the re-ranker does."""
    rng = np.random.default_rng(1)
    features = rng.uniform(0, 1, size=(300, len(FEATURES))).astype(np.float32)
    tree = DecisionTreeRegressor(max_leaf_nodes=16, random_state=0).fit(features, rng.normal(size=300))
    inner = tree.tree_.feature >= 0
    edges = []
    for feature, threshold in zip(tree.tree_.feature[inner], tree.tree_.threshold[inner]):
        below_or_on = np.float32(threshold)
        for value in (below_or_on, np.nextafter(below_or_on, np.float32(2)), np.nextafter(below_or_on, np.float32(-1))):
            row = features[0].copy()
            row[feature] = value
            edges.append(row)
    probes = np.concatenate([features[:40], np.stack(edges)])
    np.testing.assert_allclose(flat_tree(tree, 1.0).evaluate(probes), tree.predict(probes), rtol=1e-6, atol=1e-6)


def test_a_boosted_version_is_stored_and_read_back_with_its_trees() -> None:
    rng = np.random.default_rng(2)
    train = _interaction(rng, 300)
    tuned = boosted(fine_tune(base_algorithm(), train, train, lambda progress: False).algorithm, train, rounds=10)
    read = Algorithm.from_json(tuned.to_json())
    for name in ("feature", "threshold", "left", "right", "value", "roots"):  # the trees exactly
        np.testing.assert_array_equal(getattr(read.trees, name), getattr(tuned.trees, name))
    # the scores to the weights' six stored decimals
    np.testing.assert_allclose(read.score(train.features), tuned.score(train.features), rtol=1e-5, atol=1e-6)
