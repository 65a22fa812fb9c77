"""Signed tokens: genuine ones open, and any change, another purpose or the end of their time refuses them."""

from __future__ import annotations

import pytest

from cerebro_serve.services.signatures import BadSignature, Expired, Signer, derived_secret


@pytest.fixture
def signer() -> Signer:
    return Signer(derived_secret("ask_" + "a" * 32, "test"))


def test_a_genuine_token_gives_back_its_claims(signer: Signer) -> None:
    token = signer.sign("page", {"c": "cop_1", "g": 2}, expires_at=2_000)
    assert signer.verify("page", token, now=1_999) == {"c": "cop_1", "g": 2, "exp": 2_000}


def test_expired_tampered_and_misused_tokens_are_refused(signer: Signer) -> None:
    token = signer.sign("page", {"c": "cop_1", "g": 2}, expires_at=2_000)
    with pytest.raises(Expired):
        signer.verify("page", token, now=2_000)
    payload, mac = token.split(".")
    forged = Signer(derived_secret("ask_" + "a" * 32, "test")).sign("page", {"c": "cop_2", "g": 2}, 2_000)
    with pytest.raises(BadSignature):
        signer.verify("page", f"{forged.split('.')[0]}.{mac}", now=0)  # another copilot's claims, this MAC
    with pytest.raises(BadSignature):
        signer.verify("pixel", token, now=0)  # minted for a page, shown as a pixel
    with pytest.raises(BadSignature):
        signer.verify("page", payload, now=0)
    with pytest.raises(BadSignature):
        Signer(derived_secret("ask_" + "b" * 32, "test")).verify("page", token, now=0)  # another workspace
