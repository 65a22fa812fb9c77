"""The consent a candidate gives with their resume, as HrFlow's `consent_algorithmic` (the API's field).

Both required boxes allow what serves the candidate's own matching (the `personalisation` level): the
resume is parsed, embedded, searched, scored and explained. Improving the model for everyone (training on
their feedback) is the optional third box, the `improvement` level; unticked, training is refused."""

from __future__ import annotations

from dataclasses import dataclass

from cerebro_serve.objects import ConsentAlgorithmic

MATCHING_USES = ("parsing", "embedding", "searching", "scoring", "upskilling")


@dataclass(frozen=True)
class ConsentForm:
    algorithmic: bool  # required: the resume is read and matched by an algorithm
    privacy: bool  # required: the privacy notice (kept to match, corrected or deleted at will)
    improvement: bool  # optional: their feedback may improve the matching

    @classmethod
    def of(cls, form: dict[str, object]) -> ConsentForm:
        return cls(
            *(form.get(name) == "yes" for name in ("consent_algorithmic", "consent_privacy", "consent_improvement"))
        )

    @property
    def complete(self) -> bool:
        return self.algorithmic and self.privacy

    def consent(self) -> ConsentAlgorithmic:
        owner = dict.fromkeys(MATCHING_USES, True) | {"training": self.improvement}
        return ConsentAlgorithmic(owner=owner, privacy="improvement" if self.improvement else "personalisation")
