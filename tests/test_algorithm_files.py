"""The shipped fusions are fitted per encoder (cosines differ in scale from model to model): a workspace on
multilingual-e5-small answers, and forks, with the fusion fitted on e5's similarities; any other encoder
falls back on the one fitted on the default encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.scoring.algorithms import (
    BASE_ALGORITHM,
    DATA_DIR,
    FEATURES,
    MATCHING_ALGORITHM,
    Algorithm,
    algorithm_file,
    base_algorithm,
    matching_algorithm,
)
from cerebro_serve.scoring.features import term_hash
from cerebro_serve.scoring.marketplace import TRAINABLE_ALGORITHM
from cerebro_serve.services.algorithms import AlgorithmService
from cerebro_serve.services.queries import AlgorithmCreate


def test_each_encoder_reads_its_own_fit_or_the_default_one():
    assert algorithm_file(BASE_ALGORITHM, E5_MODEL) == DATA_DIR / f"{BASE_ALGORITHM}.{E5_MODEL}.json"
    assert algorithm_file(MATCHING_ALGORITHM, E5_MODEL) == DATA_DIR / f"{MATCHING_ALGORITHM}.{E5_MODEL}.json"
    assert algorithm_file(BASE_ALGORITHM, "my-own-model") == DATA_DIR / f"{BASE_ALGORITHM}.json"
    assert algorithm_file(BASE_ALGORITHM) == DATA_DIR / f"{BASE_ALGORITHM}.json"
    assert not np.array_equal(base_algorithm(E5_MODEL).weights, base_algorithm().weights)
    assert not np.array_equal(matching_algorithm(E5_MODEL).weights, matching_algorithm().weights)
    assert np.array_equal(base_algorithm("my-own-model").weights, base_algorithm().weights)


def test_a_workspace_on_e5_answers_and_forks_with_e5s_fusion(store):
    algorithms = AlgorithmService(store.learning, store.stops, E5_MODEL)
    assert np.array_equal(algorithms.resolve(None).algorithm.weights, base_algorithm(E5_MODEL).weights)
    assert np.array_equal(
        algorithms.resolve(MATCHING_ALGORITHM).algorithm.weights, matching_algorithm(E5_MODEL).weights
    )
    fork = algorithms.fork(AlgorithmCreate(base=TRAINABLE_ALGORITHM, name="e5 fork", labeller_role="recruiter"))
    assert np.array_equal(algorithms.resolve(fork["key"]).algorithm.weights, base_algorithm(E5_MODEL).weights)
    default = AlgorithmService(store.learning, store.stops)
    assert np.array_equal(default.resolve(BASE_ALGORITHM).algorithm.weights, base_algorithm().weights)


def test_a_version_fitted_before_a_feature_was_added_weighs_it_zero():
    """Features only grow at the end: a stored version (or shipped file) fitted on the first ten reads the
    eleventh (seniority) as weight 0 and scores as it did; a file fitted on other features is refused."""
    fitted = json.loads((DATA_DIR / f"{BASE_ALGORITHM}.json").read_text())
    older = {**fitted, "features": fitted["features"][:10], "weights": fitted["weights"][:10]}
    algorithm = Algorithm.from_json(json.dumps(older))
    assert len(algorithm.weights) == len(FEATURES) and algorithm.weights[FEATURES.index("seniority")] == 0
    rows = np.random.default_rng(0).random((5, len(FEATURES))).astype(np.float32)
    shifted = rows.copy()
    shifted[:, FEATURES.index("seniority")] = 1 - shifted[:, FEATURES.index("seniority")]
    assert np.allclose(algorithm.score(rows), algorithm.score(shifted))
    with pytest.raises(ValueError, match="fitted on other features"):
        Algorithm.from_json(json.dumps({**older, "features": ["cosine", "proximity"], "weights": [1.0, 2.0]}))


def test_a_version_keeps_its_preferred_words_and_carries_their_term_ids():
    """A version stores the words its training found; the term ids its job queries carry are derived from
    them, the same as the ids versions stored beside the words before (read, and ignored)."""
    fitted = json.loads((DATA_DIR / f"{BASE_ALGORITHM}.json").read_text())
    words = ["microsoft", "office"]
    earlier = {**fitted, "preferred_words": words, "preferred_terms": sorted(term_hash(w) for w in words)}
    read = Algorithm.from_json(json.dumps(earlier))
    assert read.preferred_words == tuple(words)
    assert read.preferred_terms == tuple(earlier["preferred_terms"])
    stored = json.loads(read.to_json())
    assert stored["preferred_words"] == words and "preferred_terms" not in stored
    assert Algorithm.from_json(read.to_json()).preferred_terms == read.preferred_terms
    assert base_algorithm().preferred_terms == ()
