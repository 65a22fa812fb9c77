"""Group fairness figures checked against hand-computed values, scipy's Fisher test and fairlearn."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from scipy.stats import fisher_exact

from cerebro_serve.training.fairness import (
    INTERSECTION,
    SMALL_REASON,
    UNKNOWN,
    UNKNOWN_REASON,
    data_fairness,
    model_fairness,
    ranked_exposure,
)


def _group(report, attribute, group, rate="scoring_rate"):
    table = next(t for t in report.tables if t.attribute == attribute and t.rate == rate)
    return next(row for row in table.groups if row.group == group)


def _table(report, attribute, rate="scoring_rate"):
    return next(t for t in report.tables if t.attribute == attribute and t.rate == rate)


def test_scoring_rates_and_impact_ratios_by_hand():
    # Ten scores, median 0.45: women 0.9, 0.8, 0.7, 0.2 (3 of 4 above), men 0.6, 0.5, 0.4, 0.3, 0.1, 0.0
    # (2 of 6 above).
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.5, 0.4, 0.3, 0.1, 0.0])
    gender = ["f"] * 4 + ["m"] * 6
    report = model_fairness(scores, {"gender": gender})
    assert report.median_score == pytest.approx(0.45)
    women, men = _group(report, "gender", "f"), _group(report, "gender", "m")
    assert (women.n, women.rate, women.share) == (4, 0.75, 0.4)
    assert men.rate == pytest.approx(2 / 6)
    assert women.impact_ratio == 1.0 and women.p_value is None
    assert men.impact_ratio == pytest.approx((2 / 6) / 0.75)
    assert men.four_fifths_flag and not women.four_fifths_flag
    assert men.p_value == pytest.approx(fisher_exact([[2, 4], [3, 1]]).pvalue)
    assert report.min_impact_ratio == {"gender": pytest.approx((2 / 6) / 0.75)}
    assert _table(report, "gender").flagged == ["m"]
    assert _table(report, "gender").reference == "f"


def test_demographic_parity_and_equalized_odds_come_from_fairlearn():
    rng = np.random.default_rng(3)
    scores = rng.random(200)
    labels = (rng.random(200) < 0.4).astype(int)
    gender = rng.choice(["f", "m", "x"], size=200).tolist()
    report = model_fairness(scores, {"gender": gender}, labels=labels)
    above = (scores > np.median(scores)).astype(int)
    table = _table(report, "gender")
    assert table.demographic_parity_difference == pytest.approx(
        demographic_parity_difference(labels, above, sensitive_features=gender)
    )
    assert table.equalized_odds_difference == pytest.approx(
        equalized_odds_difference(labels, above, sensitive_features=gender)
    )
    women = np.array(gender) == "f"
    row = _group(report, "gender", "f")
    assert row.true_positive_rate == pytest.approx(above[women & (labels == 1)].mean())
    assert row.false_positive_rate == pytest.approx(above[women & (labels == 0)].mean())


def test_unknown_and_small_groups_are_reported_but_do_not_count():
    # 100 items: "a" 60, "b" 38, "c" 1 (1%, scoring lowest), one unknown.
    scores = np.concatenate([np.linspace(1, 0, 60), np.linspace(0.5, 0.4, 38), [0.0], [1.0]])
    ethnicity = ["a"] * 60 + ["b"] * 38 + ["c"] + [None]
    report = model_fairness(scores, {"ethnicity": ethnicity})
    small, unknown = _group(report, "ethnicity", "c"), _group(report, "ethnicity", UNKNOWN)
    assert small.small and small.excluded == SMALL_REASON and small.impact_ratio == 0.0
    assert small.four_fifths_flag  # flagged as a figure, but it does not lower the attribute's minimum
    assert unknown.unknown and unknown.excluded == UNKNOWN_REASON and unknown.n == 1
    counted = [row for row in _table(report, "ethnicity").groups if row.excluded is None]
    assert {row.group for row in counted} == {"a", "b"}
    assert report.min_impact_ratio["ethnicity"] == pytest.approx(min(row.impact_ratio for row in counted))
    assert "c" not in _table(report, "ethnicity").flagged


def test_intersection_is_known_only_when_both_parts_are():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])
    report = model_fairness(
        scores, {"gender": ["f", "f", "m", "m", "f", None], "ethnicity": ["x", "y", "x", "y", None, "y"]}
    )
    groups = {row.group: row.n for row in _table(report, INTERSECTION).groups}
    assert groups == {"f×x": 1, "f×y": 1, "m×x": 1, "m×y": 1, UNKNOWN: 2}


def test_an_attribute_with_one_counted_group_has_no_minimum():
    report = model_fairness(np.array([0.1, 0.9, 0.5]), {"gender": ["f", "f", None], "location": ["p", "q", "r"]})
    assert "gender" not in report.min_impact_ratio
    assert "location" in report.min_impact_ratio


def test_selection_rates_when_decisions_are_given():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    report = model_fairness(scores, {"gender": ["f", "f", "m", "m"]}, selected=np.array([1, 1, 1, 0]))
    assert _group(report, "gender", "m", "selection_rate").rate == 0.5
    assert _group(report, "gender", "m", "selection_rate").impact_ratio == 0.5
    assert report.min_impact_ratio == {"gender": 0.0}  # the primary figure stays the scoring rate


def test_data_fairness_on_labels():
    labels = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    report = data_fairness(labels, {"age_band": ["18-24"] * 4 + ["55-64"] * 4})
    older = _group(report, "age_band", "55-64", "positive_label_rate")
    assert older.rate == 0.25 and older.impact_ratio == 0.5
    assert report.min_impact_ratio == {"age_band": 0.5}


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        model_fairness(np.array([0.1, 0.2]), {"gender": ["f"]})
    with pytest.raises(ValueError):
        model_fairness(np.array([0.1, 0.2]), {"gender": ["f", "m"]}, labels=np.array([0, 2]))


def test_exposure_shares_with_position_discount():
    # One list of 4: ranked f, m, m, f; top-2.
    report = ranked_exposure({"job": [0, 1, 2, 3]}, {"gender": ["f", "m", "m", "f"]}, k=2)[0]
    women = next(s for s in report.lists[0].groups if s.group == "f")
    assert women.pool_share == 0.5 and women.top_k_share == 0.5
    weights = [1 / math.log2(2), 1 / math.log2(3)]
    assert women.discounted_share == pytest.approx(weights[0] / sum(weights))
    assert women.ratio == pytest.approx(women.discounted_share / 0.5)


def test_exposure_is_averaged_over_lists():
    gender = ["f", "m", "m", "m"]
    reports = ranked_exposure({"a": [0, 1, 2, 3], "b": [1, 2, 3, 0]}, {"gender": gender}, k=1)
    women = next(s for s in reports[0].groups if s.group == "f")
    assert women.top_k_share == 0.5 and women.pool_share == 0.25 and women.ratio == 2.0


def test_reports_encode_to_json():
    report = model_fairness(np.array([0.3, 0.6]), {"gender": ["f", "m"], "ethnicity": ["x", "y"]})
    decoded = msgspec.json.decode(msgspec.json.encode(report))
    assert decoded["min_impact_ratio"] == {"gender": 0.0, "ethnicity": 0.0, INTERSECTION: 0.0}
    assert decoded["tables"][0]["groups"][0]["impact_ratio"] == 0.0
