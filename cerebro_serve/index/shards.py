"""A shard of a pool: the records whose id hashes to it (`store/sharding.py`).

A pool split across machines (cerebro_serve/cluster) keeps each record in one shard, chosen by its
store-assigned id, so any process can route a write or a rebuild without asking anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerebro_serve.store.sharding import shard_numbers


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
