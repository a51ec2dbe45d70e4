"""The replica admission token (issue 18, item 2): per project, checked in constant time, and
handed over through a file the runtime deletes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shipyard.http1.messages import Head, Response
from shipyard.runtime.server import token_admission
from shipyard.wire.replica_token import (
    HEADER,
    ReplicaTokens,
    admits,
    project_token,
    read_token_file,
    write_token_file,
)


def test_tokens_differ_per_project_and_per_secret() -> None:
    a = project_token("secret", "pa")
    assert len(a) == 64 and a == project_token(b"secret", "pa")
    assert a != project_token("secret", "pb")
    assert a != project_token("other", "pa")
    tokens = ReplicaTokens("secret")
    assert tokens("pa") == a and tokens("pb") == project_token("secret", "pb")


@pytest.mark.parametrize(
    ("headers", "admitted"),
    [
        ([(HEADER, b"t" * 64)], True),
        ([(b"X-Shipyard-Replica-Token", b"t" * 64)], True),
        ([], False),
        ([(HEADER, b"t" * 63)], False),
        ([(HEADER, b"u" * 64)], False),
        ([(HEADER, b"t" * 64), (HEADER, b"t" * 64)], False),  # exactly one
        ([(b"authorization", b"t" * 64)], False),
    ],
)
def test_admits_exactly_one_matching_header(headers, admitted) -> None:
    assert admits(b"t" * 64, headers) is admitted


def test_the_token_file_is_private_and_deleted_once_read(tmp_path: Path) -> None:
    path = tmp_path / "r1.token"
    write_token_file(path, b"abc")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_token_file(path, b"def")  # replaced, not appended
    assert read_token_file(path) == b"def"
    assert not path.exists()


@pytest.mark.parametrize("content", [b"", b"\n", b"x" * 300])
def test_an_empty_or_oversized_token_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.token"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="empty or too large"):
        read_token_file(path)


def _head(*headers: tuple[bytes, bytes]) -> Head:
    return Head("POST", "/v2/models/m/infer", list(headers), True, 10)


def test_the_runtime_refuses_a_head_without_the_token_before_its_body() -> None:
    assert token_admission(None) is None  # standalone: everyone
    admit = token_admission(b"t" * 64)
    assert admit is not None
    refusal = admit(_head((b"content-type", b"application/json")))
    assert isinstance(refusal, Response) and refusal.status == 401
    assert b"only the Shipyard gateway" in refusal.body
    assert admit(_head((HEADER, b"t" * 64))) is None


def test_health_without_token_opens_only_the_two_health_paths_to_gets() -> None:
    admit = token_admission(b"t" * 64, open_health=True)
    assert admit is not None
    for path in ("/v2/health/live", "/v2/health/ready"):
        assert admit(Head("GET", path, [], True, None)) is None
        assert admit(Head("HEAD", path, [], True, None)) is None
    refused = [
        Head("POST", "/v2/health/ready", [], True, 0),
        Head("GET", "/v2/health/ready?x=1", [], True, None),
        Head("GET", "/v2/models/m/ready", [], True, None),
        Head("GET", "/v2/health/../models/m/infer", [], True, None),
        _head(),
    ]
    for head in refused:
        refusal = admit(head)
        assert isinstance(refusal, Response) and refusal.status == 401, head
    closed = token_admission(b"t" * 64)
    assert closed is not None
    assert isinstance(closed(Head("GET", "/v2/health/ready", [], True, None)), Response)
