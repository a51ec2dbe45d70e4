"""Adopted replicas that hold another admission token than the server's now are outdated."""

from __future__ import annotations

import pytest

from shipyard.backends.adopted_tokens import (
    DIGEST_KEY,
    OUTDATED,
    digest_extra,
    outdated_if_token_changed,
)
from shipyard.backends.protocol import ReplicaRef
from shipyard.wire.replica_token import ReplicaTokens, token_digest

pytestmark = pytest.mark.unit


def ref(**extra: str) -> ReplicaRef:
    return ReplicaRef(
        replica_id="iris-p0-1", deployment_id="d", component="predictor", slot=0, revision=2,
        template="t1", url="http://127.0.0.1:1", extra={"project": "proj", **extra},
    )  # fmt: skip


def test_a_replica_with_the_current_token_is_kept_as_it_is() -> None:
    tokens = ReplicaTokens("secret")
    started = ref(**digest_extra(tokens.digest("proj")))
    assert outdated_if_token_changed(started, tokens.digest("proj")) == started


def test_another_token_or_none_makes_the_template_outdated_once() -> None:
    old, new = ReplicaTokens("old").digest("proj"), ReplicaTokens("new").digest("proj")
    assert old != new
    for adopted in (ref(**digest_extra(old)), ref()):  # another token; started before tokens
        outdated = outdated_if_token_changed(adopted, new)
        assert outdated.template == OUTDATED + "t1"
        assert outdated.replica_id == adopted.replica_id and outdated.extra == adopted.extra
        assert outdated_if_token_changed(outdated, new) == outdated  # not prefixed twice


def test_without_admission_nothing_is_outdated() -> None:
    assert digest_extra(None) == {}
    assert outdated_if_token_changed(ref(), None) == ref()


def test_the_digest_tells_tokens_apart_and_does_not_hold_them() -> None:
    token = ReplicaTokens("secret")("proj")
    digest = token_digest(token)
    assert len(digest) == 16 and digest == ReplicaTokens("secret").digest("proj")
    assert digest not in token.decode() and digest != token_digest(token + b"x")
    assert digest_extra(digest) == {DIGEST_KEY: digest}
