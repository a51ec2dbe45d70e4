"""Replica addresses as URLs: TCP and Unix sockets."""

from __future__ import annotations

import pytest

from shipyard.wire.addresses import Address, parse_address, split_url, unix_url

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "base", "target", "address"),
    [
        ("http://127.0.0.1:8080/v1/m:predict?a=1", "http://127.0.0.1:8080", "/v1/m:predict?a=1",
         Address("127.0.0.1", 8080, "127.0.0.1:8080")),
        ("http://[::1]:90/x", "http://[::1]:90", "/x", Address("::1", 90, "[::1]:90")),
        ("http://replica/x", "http://replica", "/x", Address("replica", 80, "replica")),
        ("http://replica:81", "http://replica:81", "/", Address("replica", 81, "replica:81")),
    ],
)  # fmt: skip
def test_tcp_urls(url: str, base: str, target: str, address: Address) -> None:
    assert split_url(url) == (base, target)
    assert parse_address(base) == address
    assert not address.unix


def test_a_unix_socket_path_is_one_authority_and_comes_back_whole() -> None:
    path = "/run/shipyard home/replicas/iris-p0.sock"
    url = unix_url(path) + "/v2/models/iris/infer"
    base, target = split_url(url)
    assert (base, target) == (unix_url(path), "/v2/models/iris/infer")
    assert "/" not in base.removeprefix("http+unix://")
    address = parse_address(base)
    assert address == Address(path, -1, "localhost")
    assert address.unix and str(address) == path


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="not an http:// or http\\+unix:// URL"):
        split_url("https://replica/x")
