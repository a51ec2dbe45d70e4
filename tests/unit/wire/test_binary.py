"""The binary tensor data extension's framing (shipyard.wire.binary)."""

from __future__ import annotations

import pytest

from shipyard.wire import binary

pytestmark = pytest.mark.unit


def sized(name, size):
    return {"name": name, "parameters": {"binary_data_size": size}}


def test_slices_are_views_of_the_body_in_order():
    body = b'{"h":1}' + b"AAAABBBBBB"
    header, section = binary.split_body(body, 7)
    assert bytes(header) == b'{"h":1}'
    a, plain, b = binary.slice_tensors(
        [sized("a", 4), {"name": "p", "data": [1]}, sized("b", 6)], section, framed=True
    )
    assert plain is None and bytes(a) == b"AAAA" and bytes(b) == b"BBBBBB"
    assert a.obj is body  # no copy


@pytest.mark.parametrize(
    ("value", "message"),
    [(b"-1", "non-negative integer"), (b"x", "non-negative integer"), (b"99", "beyond")],
)
def test_header_length_is_strict(value, message):
    with pytest.raises(binary.FramingError, match=message):
        binary.header_length(value, 10)
    assert binary.header_length(None, 10) is None
    assert binary.header_length(b"10", 10) == 10


def test_bytes_elements_round_trip_with_little_endian_prefixes():
    data = binary.join_bytes(["h\u00e9", b"", b"\x00\xff"])
    assert data[:4] == (3).to_bytes(4, "little")
    assert [bytes(x) for x in binary.split_bytes(memoryview(data), "t")] == [
        "h\u00e9".encode(),
        b"",
        b"\x00\xff",
    ]
    with pytest.raises(binary.FramingError, match="truncated length prefix"):
        binary.split_bytes(memoryview(data + b"\x01"), "t")


def test_pack_and_unpack_are_little_endian():
    assert binary.pack("INT32", [1, -1]) == b"\x01\0\0\0\xff\xff\xff\xff"
    assert binary.unpack("FP64", memoryview(binary.pack("FP64", [0.5, -2.0]))) == (0.5, -2.0)
    with pytest.raises(binary.FramingError, match="whole number"):
        binary.unpack("INT64", memoryview(b"\0" * 9))
    with pytest.raises(binary.FramingError, match="cannot pack"):
        binary.pack("UINT8", [256])
