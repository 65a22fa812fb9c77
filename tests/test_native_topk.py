"""The native filtered top-k agrees with a numpy reference, whatever the input."""

from __future__ import annotations

import numpy as np
import pytest

from cerebro_serve.index.topk import topk


def reference_topk(scores: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    positions = np.arange(len(scores))
    keep = ~np.isnan(scores)
    if mask is not None:
        keep &= mask
    positions = positions[keep]
    # Score descending, then position ascending.
    order = np.lexsort((positions, -scores[positions]))
    chosen = positions[order][:k]
    return chosen, scores[chosen]


@pytest.mark.parametrize("n", [1, 7, 100, 5000])
@pytest.mark.parametrize("k", [0, 1, 10, 6000])
def test_matches_numpy_on_random_scores(n: int, k: int) -> None:
    rng = np.random.default_rng(n * 31 + k)
    scores = rng.random(n, dtype=np.float32)
    mask = rng.random(n) < 0.6
    for m in (None, mask):
        got_positions, got_scores = topk(scores, k, m)
        want_positions, want_scores = reference_topk(scores, k, m)
        np.testing.assert_array_equal(got_positions, want_positions)
        np.testing.assert_array_equal(got_scores, want_scores)


def test_ties_are_broken_by_lower_position() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.5], dtype=np.float32)
    positions, _ = topk(scores, 4)
    assert positions.tolist() == [1, 3, 0, 2]


def test_rounded_scores_with_many_ties_match_numpy() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(2000), 1).astype(np.float32)
    got, _ = topk(scores, 50)
    want, _ = reference_topk(scores, 50, None)
    np.testing.assert_array_equal(got, want)


def test_nan_scores_are_never_selected() -> None:
    scores = np.array([np.nan, 0.2, np.nan, 0.1], dtype=np.float32)
    positions, values = topk(scores, 10)
    assert positions.tolist() == [1, 3]
    assert not np.isnan(values).any()


def test_all_nan_or_all_masked_gives_nothing() -> None:
    assert len(topk(np.full(5, np.nan, dtype=np.float32), 3)[0]) == 0
    assert len(topk(np.ones(5, dtype=np.float32), 3, np.zeros(5, dtype=bool))[0]) == 0


def test_empty_input_gives_empty_output() -> None:
    positions, values = topk(np.empty(0, dtype=np.float32), 5)
    assert positions.shape == (0,) and values.shape == (0,)
    assert positions.dtype == np.int64 and values.dtype == np.float32


def test_k_larger_than_n_returns_everything_sorted() -> None:
    scores = np.array([0.3, 0.1, 0.2], dtype=np.float32)
    positions, values = topk(scores, 100)
    assert positions.tolist() == [0, 2, 1]
    assert values.tolist() == pytest.approx([0.3, 0.2, 0.1])


def test_negative_infinity_is_a_valid_lowest_score() -> None:
    scores = np.array([-np.inf, 0.0], dtype=np.float32)
    assert topk(scores, 2)[0].tolist() == [1, 0]


def test_float64_input_is_accepted() -> None:
    scores = np.array([0.1, 0.7, 0.4])
    assert topk(scores, 2)[0].tolist() == [1, 2]


def test_mask_of_wrong_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        topk(np.ones(3, dtype=np.float32), 1, np.ones(4, dtype=bool))


def test_negative_k_is_rejected() -> None:
    with pytest.raises(ValueError, match="k must be"):
        topk(np.ones(3, dtype=np.float32), -1)
