"""Model download tokens: scoped to one version, expiring, tamper-proof (pure)."""

from __future__ import annotations

import pytest

from shipyard.backends.cluster.tokens import ModelGrant, ModelTokenSigner, is_model_token

KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_grants_exactly_its_model_version_until_it_expires():
    clock = Clock()
    signer = ModelTokenSigner(KEY, ttl_s=600, clock=clock)
    token = signer.mint("proj", "iris", 3)
    assert is_model_token(token)
    assert signer.verify(token) == ModelGrant("proj", "iris", 3, clock.now + 600)
    clock.now += 601
    assert signer.verify(token) is None


def test_tampered_foreign_and_malformed_tokens_are_refused():
    signer = ModelTokenSigner(KEY, clock=Clock())
    token = signer.mint("proj", "iris", 3)
    head, _, sig = token.split(".")
    other = ModelTokenSigner(b"o" * 32, clock=Clock()).mint("proj", "iris", 3)
    forged_payload = signer.mint("proj", "iris", 4).split(".")[1]
    for bad in (
        f"{head}.{forged_payload}.{sig}",
        other,
        "sym1.x",
        "sym1.." + sig,
        token + "x",
        "sym1." + "a" * 2000,
        "not-a-token",
    ):
        assert signer.verify(bad) is None, bad


def test_short_keys_are_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        ModelTokenSigner(b"short")
