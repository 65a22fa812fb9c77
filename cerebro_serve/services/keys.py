"""Workspace API keys: `ask_` (read and write), `askr_` (read only), `askw_` (write only), 32 hex each.

The admin key comes from the settings; further keys are stored hashed, so a leaked database leaks no key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Literal

from cerebro_serve.store import SqlStore

Permission = Literal["all", "read", "write"]
PREFIXES: dict[Permission, str] = {"all": "ask_", "read": "askr_", "write": "askw_"}
KEY_PATTERN = re.compile(r"^ask[rw]?_[0-9a-f]{32}$")


def new_key(permission: Permission = "all") -> str:
    return PREFIXES[permission] + secrets.token_hex(16)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    def __init__(self, store: SqlStore, admin_key: str) -> None:
        self.store = store
        self.admin_key = admin_key

    def create(self, permission: Permission) -> str:
        key = new_key(permission)
        self.store.keys.add_api_key(_hash(key), permission)
        return key

    def permission(self, key: str | None) -> Permission | None:
        """What a presented key may do, or None when it is not a key of this workspace."""
        if not key or not KEY_PATTERN.match(key):
            return None
        if hmac.compare_digest(key, self.admin_key):
            return "all"
        permission = self.store.keys.api_key_permission(_hash(key))
        return permission  # type: ignore[return-value]  # one of PREFIXES, checked above


def resolve_admin_key(configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """(admin key, whether it was just generated). A generated key is kept in the data dir, readable by
    its owner only."""
    if configured:
        if not KEY_PATTERN.match(configured) or not configured.startswith("ask_"):
            raise ValueError("CEREBRO_API_KEY must look like ask_ followed by 32 lowercase hex characters")
        return configured, False
    key_file = data_dir / "api_key"
    if key_file.exists():
        return key_file.read_text().strip(), False
    key = new_key("all")
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key, True
