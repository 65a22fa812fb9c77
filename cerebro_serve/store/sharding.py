"""Which shard of a pool holds a record: a stable hash of its store-assigned id (never reused, never
changed by an edit), the same in every process and release, computed alike in numpy and in SQL, so a
shard reads only its own records from the store.

Two rounds of a multiplicative hash modulo the Mersenne prime 2^31 - 1 with an xor-shift between them:
every product stays below 2^62 (no 64-bit overflow in PostgreSQL or SQLite), xor is written with the
operators both have, and ids in any arithmetic progression (pools whose imports interleave) spread
evenly over any shard count.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

HASH = "mix31x2"  # names this hash where its results are kept (a shard's index files)
PRIME = 2**31 - 1
FIRST, SECOND = 1_640_531_513, 1_103_515_245
SHIFT = 13


def shard_numbers(record_ids: np.ndarray, count: int) -> np.ndarray:
    """The shard (0 <= n < count) of each record id."""
    mixed = np.asarray(record_ids, dtype=np.int64) % PRIME * FIRST % PRIME
    mixed = (mixed | (mixed >> SHIFT)) - (mixed & (mixed >> SHIFT))  # xor, as the SQL writes it
    return mixed * SECOND % PRIME % count


def shard_number_sql(record_id: sa.ColumnElement[int], count: int) -> sa.ColumnElement[int]:
    """`shard_numbers` of an integer column, in SQL."""
    mixed = record_id % PRIME * FIRST % PRIME
    shifted = mixed.op(">>")(sa.literal_column(str(SHIFT)))  # an int4 count: PostgreSQL has no bigint >> bigint
    mixed = mixed.op("|")(shifted) - mixed.op("&")(shifted)
    return mixed * SECOND % PRIME % count
