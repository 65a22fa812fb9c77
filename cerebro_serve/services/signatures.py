"""Signed, expiring tokens: what a pre-signed copilot URL, a candidate's session, a tracking pixel and a
partner app's access token carry. HMAC-SHA256 over the claims and a purpose, so a token minted for one use
(a pixel) is refused for another (a page), and any change to a claim breaks the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import msgspec


class BadSignature(Exception):
    """The token was tampered with, minted for another purpose, or is not a token at all."""


class Expired(Exception):
    """The token was genuine but its time is up."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest())

    def sign(self, purpose: str, claims: dict[str, Any], expires_at: int) -> str:
        """`expires_at`: Unix seconds."""
        payload = _b64(msgspec.json.encode({**claims, "exp": expires_at}))
        return f"{payload}.{self._mac(purpose, payload)}"

    def verify(self, purpose: str, token: str, now: float | None = None) -> dict[str, Any]:
        """The claims (with `exp`) of a genuine, unexpired token of this purpose."""
        payload, _, mac = token.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._mac(purpose, payload).encode()):
            raise BadSignature(purpose)
        try:
            claims = msgspec.json.decode(_unb64(payload))
        except (ValueError, msgspec.DecodeError):
            raise BadSignature(purpose) from None
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            raise BadSignature(purpose)
        if claims["exp"] <= (time.time() if now is None else now):
            raise Expired(purpose)
        return claims


def derived_secret(root: str, label: str) -> bytes:
    """A secret for one use, derived from the workspace's admin key: rotating that key revokes them all."""
    return hmac.new(root.encode(), label.encode(), hashlib.sha256).digest()
