"""Which shard of a pool holds a record: a stable hash of its id, the same in every process and release.

A pool split across machines (cerebro_serve/cluster) keeps each record in one shard, chosen by its
store-assigned id (never reused, never changed by an edit), so any process can route a write or a
rebuild without asking anyone. The hash is SplitMix64's finalizer: consecutive ids spread evenly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def shard_numbers(record_ids: np.ndarray, count: int) -> np.ndarray:
    """The shard (0 <= n < count) of each record id."""
    mixed = np.asarray(record_ids, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):  # multiplication modulo 2**64 is the point
        mixed ^= mixed >> np.uint64(30)
        mixed *= _MULTIPLIERS[0]
        mixed ^= mixed >> np.uint64(27)
        mixed *= _MULTIPLIERS[1]
        mixed ^= mixed >> np.uint64(31)
    return (mixed % np.uint64(count)).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `number` of `count`: the records whose id hashes to it."""

    number: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.number < self.count:
            raise ValueError(f"shard {self.number} of {self.count} does not exist")

    def holds(self, record_id: int) -> bool:
        return int(shard_numbers(np.array([record_id]), self.count)[0]) == self.number

    def name(self) -> str:
        return f"shard-{self.number}-of-{self.count}"
