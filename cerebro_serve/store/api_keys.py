"""Extra API keys, stored hashed with their permission."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cerebro_serve.store.connection import now_us
from cerebro_serve.store.schema import api_keys


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_api_key(self, key_hash: str, permission: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                api_keys.insert().values(key_hash=key_hash, permission=permission, created_at_us=now_us())
            )

    def api_key_permission(self, key_hash: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(api_keys.c.permission).where(api_keys.c.key_hash == key_hash)).scalar()
