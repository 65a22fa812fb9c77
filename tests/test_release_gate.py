"""The release gate: a trained version that scores a group of people worse is held for review, not served,
until an admin releases it with a reason (and that release is in the audit trail)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from cerebro_serve.services.release_gate import HELD, NOT_AUDITED, RELEASED, GatePolicy, ReleaseGate
from cerebro_serve.training.pipeline import Validated

POLICY = GatePolicy(min_impact_ratio=0.8, max_drop=0.1)


def _gate(attributes: Mapping[str, Sequence[str | None]]) -> ReleaseGate:
    def attributes_of(ids: Sequence[int]) -> Mapping[str, Sequence[str | None]]:
        return {name: [values[i] for i in ids] for name, values in attributes.items()}

    return ReleaseGate(POLICY, attributes_of)


def _validated(scores: Sequence[float], serving: Sequence[float]) -> Validated:
    return Validated(list(range(len(scores))), np.array(scores), np.array(serving))


# 20 profiles, alternating women and men.
GENDER = {"gender": ["female" if i % 2 else "male" for i in range(20)]}
EVEN = [0.2 + 0.03 * (i // 2) for i in range(20)]  # each woman scores as the man before her


def test_an_even_version_is_released() -> None:
    review = _gate(GENDER).review(_validated(EVEN, EVEN))
    assert review.state == RELEASED and not review.held and review.reasons == []
    assert review.impact_ratios["gender"] == pytest.approx(1.0) and review.audited_profiles == 20


def test_a_version_that_scores_women_lower_is_held_with_the_reason() -> None:
    biased = [0.9 - 0.01 * i if i % 2 == 0 else 0.1 + 0.01 * i for i in range(20)]  # men above every woman
    review = _gate(GENDER).review(_validated(biased, EVEN))
    assert review.state == HELD and review.held
    assert review.impact_ratios["gender"] == pytest.approx(0.0)
    assert review.serving_impact_ratios["gender"] == pytest.approx(1.0)
    assert any("gender: impact ratio 0.000 is under 0.8" in reason for reason in review.reasons)
    assert any("fell from 1.000" in reason for reason in review.reasons)


def test_a_fall_beyond_the_margin_holds_even_above_four_fifths() -> None:
    # Above the median: serving 5 men and 5 women (ratio 1); new 6 men and 4 women (ratio 0.667 → held by
    # both rules); the margin rule alone: serving 1.0, new 0.857 with a margin of 0.1.
    def scores(women_above: int) -> list[float]:
        men = [0.9] * (10 - women_above) + [0.1] * women_above  # a man is above unless a woman took it
        women = [0.9] * women_above + [0.1] * (10 - women_above)
        return [men[i // 2] if i % 2 == 0 else women[i // 2] for i in range(20)]

    gate = _gate(GENDER)
    review = gate.review(_validated(scores(4), scores(5)))
    assert review.held and review.impact_ratios["gender"] == pytest.approx(4 / 6, abs=1e-3)
    tight = ReleaseGate(GatePolicy(min_impact_ratio=0.5, max_drop=0.1), gate.attributes_of)
    review = tight.review(_validated(scores(4), scores(5)))
    assert review.held and review.reasons == [
        "gender: impact ratio fell from 1.000 (serving version) to 0.667, more than the allowed 0.1"
    ]


def test_without_attributes_a_version_is_not_audited_and_says_so() -> None:
    review = _gate({"gender": [None] * 20}).review(_validated(EVEN, EVEN))
    assert review.state == NOT_AUDITED and not review.held and review.audited_profiles == 0
    assert review.reasons == ["no protected attributes for the validation profiles"]
    one_group = _gate({"gender": ["female"] * 20}).review(_validated(EVEN, EVEN))
    assert one_group.state == NOT_AUDITED and one_group.audited_profiles == 20
    assert "two groups" in one_group.reasons[0]
