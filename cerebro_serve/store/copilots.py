"""Copilots as stored: their settings as one JSON document, their signing generation, whether they serve."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cerebro_serve.store.connection import now_us
from cerebro_serve.store.schema import copilots


@dataclass(frozen=True, slots=True)
class StoredCopilot:
    key: str
    type: str
    name: str
    config: str  # JSON (services/copilots.py CopilotConfig)
    generation: int
    disabled: bool
    created_at_us: int
    updated_at_us: int


class CopilotStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, key: str, type_: str, name: str, config: str) -> StoredCopilot:
        at = now_us()
        values = {"key": key, "type": type_, "name": name, "config": config, "generation": 1, "disabled": False}
        with self.engine.begin() as connection:
            connection.execute(copilots.insert().values(**values, created_at_us=at, updated_at_us=at))
        return StoredCopilot(**values, created_at_us=at, updated_at_us=at)  # type: ignore[arg-type]

    def get(self, key: str) -> StoredCopilot | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(copilots).where(copilots.c.key == key)).first()
        return StoredCopilot(**row._mapping) if row else None

    def list(self, offset: int, limit: int) -> tuple[list[StoredCopilot], int]:
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(copilots)).scalar_one()
            rows = connection.execute(
                sa.select(copilots)
                .order_by(copilots.c.created_at_us.desc(), copilots.c.key)
                .offset(offset)
                .limit(limit)
            ).all()
        return [StoredCopilot(**row._mapping) for row in rows], total

    def update(self, key: str, **changes: object) -> bool:
        """Change `name`, `config`, `disabled` or `generation`; False when there is no such copilot."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                copilots.update().where(copilots.c.key == key).values(**changes, updated_at_us=now_us())
            ).rowcount
        return changed == 1

    def revoke(self, key: str) -> bool:
        """Invalidate every URL and token signed for the copilot so far."""
        with self.engine.begin() as connection:
            changed = connection.execute(
                copilots.update()
                .where(copilots.c.key == key)
                .values(generation=copilots.c.generation + 1, updated_at_us=now_us())
            ).rowcount
        return changed == 1
