"""The kill switch's state: which algorithms an admin stopped, how their calls are answered meanwhile, and
who stopped them, when and why. A row exists while an algorithm is stopped; restoring deletes it (the audit
trail keeps both events). Keyed by algorithm key, so marketplace bases, which have no `algorithms` row,
are stopped the same way as forks."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from cerebro_serve.store.schema import algorithm_stops


@dataclass(frozen=True, slots=True)
class StoredStop:
    algorithm_key: str
    fallback: str  # "default" or "fail"
    reason: str
    key_id: str | None
    user: str | None
    stopped_at_us: int


class StopStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stop(self, stop: StoredStop) -> None:
        """Stopping a stopped algorithm again replaces its fallback, reason, author and time."""
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(algorithm_stops)
        values = {name: getattr(stop, name) for name in StoredStop.__slots__}
        changed = {name: value for name, value in values.items() if name != "algorithm_key"}
        with self.engine.begin() as connection:
            connection.execute(
                insert.values(**values).on_conflict_do_update(index_elements=["algorithm_key"], set_=changed)
            )

    def restore(self, algorithm_key: str) -> bool:
        """False when the algorithm was not stopped."""
        with self.engine.begin() as connection:
            deleted = connection.execute(
                algorithm_stops.delete().where(algorithm_stops.c.algorithm_key == algorithm_key)
            ).rowcount
        return deleted == 1

    def stopped(self) -> dict[str, StoredStop]:
        """Every stopped algorithm by key: a handful of rows, read whole by each call that resolves one."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(algorithm_stops)).all()
        return {row.algorithm_key: StoredStop(**row._mapping) for row in rows}
