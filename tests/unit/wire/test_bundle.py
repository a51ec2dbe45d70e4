"""The framing of the gateway's bundles: round trips, any body bytes, malformed input refused."""

from __future__ import annotations

import pytest

from shipyard.http1 import Request, Response
from shipyard.wire.bundle import (
    MAX_PARTS,
    VERSION,
    decode_requests,
    decode_responses,
    encode_requests,
    encode_responses,
)

pytestmark = pytest.mark.unit


def test_requests_round_trip_in_order_with_any_body_bytes() -> None:
    requests = [
        Request("POST", "/v1/models/iris:predict", [(b"content-type", b"application/json")], b"{}"),
        Request("GET", "/v2/models/iris/ready?x=1", [], b""),
        Request("POST", "/v2/models/iris/infer", [(b"a", b"1"), (b"b", b"2")], b"\r\n 1 2 3\r\n"),
    ]
    decoded = decode_requests(encode_requests(requests))
    assert decoded == requests


def test_responses_round_trip_with_the_content_type_among_the_headers() -> None:
    responses = [
        Response(200, b'{"predictions":[1]}'),
        Response(400, b"", content_type=None, headers=[(b"x-extra", b"v: w")]),
    ]
    decoded = decode_responses(encode_responses(responses))
    assert [(r.status, r.body) for r in decoded] == [(200, b'{"predictions":[1]}'), (400, b"")]
    assert decoded[0].headers == [(b"content-type", b"application/json")]
    assert decoded[1].headers == [(b"x-extra", b"v: w")]
    assert decode_requests(VERSION) == [] and decode_responses(VERSION) == []
    assert encode_requests([])[:1] == VERSION and encode_responses([])[:1] == VERSION


@pytest.mark.parametrize("data", [b"", b"POST /x 0 0\r\n", b"\x02POST /x 0 0\r\n"])
def test_a_bundle_without_this_version_byte_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="version byte"):
        decode_requests(data)
    with pytest.raises(ValueError, match="version byte"):
        decode_responses(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (VERSION + b"POST /x 5 0\r\nabc", "cut off"),
        (VERSION + b"POST /x 1\r\n", "is not '<method>"),
        (VERSION + b"POST /x five 0\r\n", "not numbers"),
        (VERSION + b"POST /x 0 1\r\nno-colon\r\n", "header line"),
        (VERSION + b"POST /x 0 2\r\na: 1\r\n", "cut off"),
        (VERSION + b"POST /x -1 0\r\n", "cut off"),
    ],
)
def test_a_malformed_bundle_is_refused_as_a_whole(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_requests(data)


def test_a_malformed_answer_is_refused_and_parts_are_capped() -> None:
    with pytest.raises(ValueError, match="is not '<status>"):
        decode_responses(VERSION + b"200 0\r\n")
    with pytest.raises(ValueError, match=f"more than {MAX_PARTS}"):
        decode_requests(VERSION + b"GET / 0 0\r\n" * (MAX_PARTS + 1))
