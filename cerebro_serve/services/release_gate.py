"""The release gate: a trained version that treats a group of people worse does not go live by itself.

Before a training publishes, the scores the new version and the serving one give the validation pairs are
audited on the profiles' protected attributes (LL144 scoring rates, `training/fairness.py`). The version is
held for review when, on any attribute, its lowest impact ratio is under the four-fifths threshold or has
fallen by more than the configured margin from the serving version's; an admin may then release it with a
stated reason (the request, reason included, is an audit event). Without attributes for the validation
profiles nothing can be measured: the version goes live and its review says it was not audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from cerebro_serve.training.fairness import model_fairness
from cerebro_serve.training.pipeline import Validated

# Protected attributes of profiles by record id: attribute name → one value (None: unknown) per id.
AttributesOf = Callable[[Sequence[int]], Mapping[str, Sequence[str | None]]]

HELD = "held_for_review"
RELEASED = "released"
NOT_AUDITED = "not_audited"
RELEASED_BY_ADMIN = "released_by_admin"  # held, then released by an admin with a reason


@dataclass(frozen=True, slots=True)
class GatePolicy:
    min_impact_ratio: float  # the four-fifths rule: 0.8
    max_drop: float  # how far an attribute's lowest impact ratio may fall from the serving version's


class Review(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The gate's verdict on one version, stored with it; an admin's release adds who, why and when."""

    state: str  # held_for_review, released, not_audited, released_by_admin
    min_impact_ratio: float
    max_drop: float
    audited_profiles: int
    impact_ratios: dict[str, float] = {}  # the new version's lowest impact ratio per attribute
    serving_impact_ratios: dict[str, float] = {}
    reasons: list[str] = []
    released_by: str | None = None  # the admin key's id
    release_reason: str | None = None
    released_at: str | None = None

    @property
    def held(self) -> bool:
        return self.state == HELD

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def from_json(cls, raw: str) -> Review:
        return msgspec.json.decode(raw, type=cls)


class ReleaseGate:
    def __init__(self, policy: GatePolicy, attributes_of: AttributesOf) -> None:
        self.policy = policy
        self.attributes_of = attributes_of

    def review(self, validated: Validated) -> Review:
        policy = self.policy
        attributes = self.attributes_of(validated.profile_ids)
        known = sum(
            any(column[i] is not None for column in attributes.values()) for i in range(len(validated.profile_ids))
        )
        new = model_fairness(validated.scores, attributes).min_impact_ratio if known else {}
        serving = model_fairness(validated.serving_scores, attributes).min_impact_ratio if known else {}
        if not new:
            reason = (
                "no protected attributes for the validation profiles"
                if not known
                else "no attribute has two groups large enough to compare (each at least 2% of the profiles)"
            )
            return Review(
                state=NOT_AUDITED,
                min_impact_ratio=policy.min_impact_ratio,
                max_drop=policy.max_drop,
                audited_profiles=known,
                reasons=[reason],
            )
        reasons = []
        for attribute, ratio in sorted(new.items()):
            if ratio < policy.min_impact_ratio:
                reasons.append(f"{attribute}: impact ratio {ratio:.3f} is under {policy.min_impact_ratio}")
            before = serving.get(attribute)
            if before is not None and before - ratio > policy.max_drop:
                reasons.append(
                    f"{attribute}: impact ratio fell from {before:.3f} (serving version) to {ratio:.3f}, "
                    f"more than the allowed {policy.max_drop}"
                )
        return Review(
            state=HELD if reasons else RELEASED,
            min_impact_ratio=policy.min_impact_ratio,
            max_drop=policy.max_drop,
            audited_profiles=known,
            impact_ratios=new,
            serving_impact_ratios=serving,
            reasons=reasons,
        )
