from __future__ import annotations

import hashlib

import pytest

from shipyard.gateway.proxy import request_headers, response_headers
from shipyard.wire.keys import KeyHasher, parse_api_key

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("ApiKey abc", "abc"),
        ("apikey abc", "abc"),
        ("Bearer abc", "abc"),
        ("BEARER   abc  ", "abc"),
        (None, None),
        ("", None),
        ("ApiKey", None),
        ("ApiKey   ", None),
        ("Basic dXNlcjpwdw==", None),
        ("abc", None),
    ],
)
def test_parse_api_key(header, key):
    assert parse_api_key(header) == key


def test_key_hasher_is_sha256_hex_and_bounded():
    hasher = KeyHasher(max_entries=2)
    for key in ("k1", "k2", "k3", "k1"):
        assert hasher(key) == hashlib.sha256(key.encode()).hexdigest()
    assert hasher("k3") == hashlib.sha256(b"k3").hexdigest()


def test_request_headers_drop_key_host_length_and_hop_by_hop():
    raw = [
        (b"host", b"gw:8471"),
        (b"authorization", b"ApiKey secret"),
        (b"content-type", b"application/json"),
        (b"content-length", b"12"),
        (b"connection", b"keep-alive, X-Private"),
        (b"x-private", b"1"),
        (b"keep-alive", b"timeout=5"),
        (b"transfer-encoding", b"chunked"),
        (b"te", b"trailers"),
        (b"upgrade", b"h2c"),
        (b"proxy-authorization", b"Basic x"),
        (b"Inference-Header-Content-Length", b"42"),
        (b"x-request-id", b"r1"),
    ]
    assert request_headers(raw) == [
        (b"content-type", b"application/json"),
        (b"inference-header-content-length", b"42"),
        (b"x-request-id", b"r1"),
    ]


def test_response_headers_keep_end_to_end_ones():
    raw = [
        (b"Content-Type", b"application/json; charset=utf-8"),
        (b"Content-Length", b"3"),
        (b"Date", b"Mon"),
        (b"Server", b"uvicorn"),
        (b"Connection", b"close"),
        (b"Content-Encoding", b"gzip"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    assert response_headers(raw) == [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-encoding", b"gzip"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
