"""May this profile be used for an operation: HrFlow's `consent_algorithmic`, read in one place.

Two parties give consent: the person (`owner`) and the customer holding the data (`controller`); either
one setting an operation's key to `false` refuses it, and a key neither sets allows it. Older names count
beside the current ones (`reasoning` for upskilling, `learning` for training).

The privacy level (`privacy`, ours) says how far the data may go, each level allowing what the one before
it does and more:
- `private`: stored, listed and read back, nothing algorithmic: not parsed, embedded, searched, scored,
  explained or learned from (with `include_manual`, a scoring lists it for a person to review);
- `personalisation`: the operations that serve the customer's own requests about it (parsing,
  embedding, searching, scoring, upskilling), never training nor fairness audits;
- `improvement`: also training and fairness audits, with its feedback.
Absent, the level is `improvement`, or `personalisation` when a party refuses `training`.
"""

from __future__ import annotations

from typing import Literal

from cerebro_serve.objects import ConsentAlgorithmic, Privacy
from cerebro_serve.record_features import REFUSES_EMBEDDING, REFUSES_SCORING, REFUSES_SEARCHING

Operation = Literal["parsing", "embedding", "searching", "scoring", "upskilling", "training"]

# The keys that speak for each operation.
KEYS: dict[Operation, tuple[str, ...]] = {
    "parsing": ("parsing",),
    "embedding": ("embedding",),
    "searching": ("searching",),
    "scoring": ("scoring",),
    "upskilling": ("upskilling", "reasoning"),
    "training": ("training", "learning"),
}
LEVELS: dict[Privacy, frozenset[Operation]] = {
    "private": frozenset(),
    "personalisation": frozenset(KEYS) - {"training"},
    "improvement": frozenset(KEYS),
}
# The index's refusal bits (record_features.py) and the operation each stands for.
BITS: tuple[tuple[Operation, int], ...] = (
    ("scoring", REFUSES_SCORING),
    ("searching", REFUSES_SEARCHING),
    ("embedding", REFUSES_EMBEDDING),
)


def refusal(consent: ConsentAlgorithmic | None, operation: Operation) -> str | None:
    """Why the operation is refused ("the owner withheld consent to scoring", ...), None when allowed."""
    if consent is None:
        return None
    for party, given in (("owner", consent.owner), ("controller", consent.controller)):
        for key in KEYS[operation]:
            if given.get(key) is False:
                return f"the profile's {party} withheld consent to {key}"
    level = privacy_level(consent)
    if operation not in LEVELS[level]:
        return f"the profile's privacy level ({level}) does not allow {operation}"
    return None


def allows(consent: ConsentAlgorithmic | None, operation: Operation) -> bool:
    return refusal(consent, operation) is None


def privacy_level(consent: ConsentAlgorithmic | None) -> Privacy:
    if consent is None:
        return "improvement"
    if consent.privacy is not None:
        return consent.privacy
    refused = any(given.get(key) is False for given in (consent.owner, consent.controller) for key in KEYS["training"])
    return "personalisation" if refused else "improvement"


def refusal_bits(consent: ConsentAlgorithmic | None) -> int:
    """The REFUSES_* bits the index keeps of a profile, so a ranking's row mask leaves it out of the uses
    it is refused for."""
    bits = 0
    for operation, bit in BITS:
        if not allows(consent, operation):
            bits |= bit
    return bits
