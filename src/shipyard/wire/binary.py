"""The Open Inference Protocol's binary tensor data extension: framing, both directions.

A body in this extension is a JSON header followed by the raw bytes of some tensors:
``Inference-Header-Content-Length`` says how many leading bytes are JSON, and each tensor whose
bytes follow carries ``parameters.binary_data_size`` instead of ``data``, in order. Fixed-size
datatypes are little-endian, row-major; a ``BYTES`` tensor is each element as a 4-byte
little-endian length and that many bytes. A response holds binary outputs when the request asks
for them (``parameters.binary_data_output`` on the request, ``parameters.binary_data`` on one
requested output).

Shared by the replica runtime (which decodes requests and encodes answers) and the gateway
(which translates gRPC into it), so: standard library only. Slices are ``memoryview`` s of the
received body, never copies; errors are :class:`FramingError` (a ``ValueError``) whose message
names the field and the fix, for the caller to map onto its own 400.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

HEADER_LENGTH = b"inference-header-content-length"
"""The request and response header giving the JSON header's length in bytes (lowercase)."""

BINARY_TYPE = b"application/octet-stream"
"""The content type of a body that holds binary tensors."""

STRUCT_CODES: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}
"""Fixed-size V2 datatypes → :mod:`struct` codes (with ``<``: little-endian, no padding)."""

ITEM_SIZES: dict[str, int] = {
    name: struct.calcsize("<" + code) for name, code in STRUCT_CODES.items()
}
"""Bytes per element of each fixed-size datatype."""

_PREFIX = struct.Struct("<I")


class FramingError(ValueError):
    """A body in the binary extension is malformed (the message names what and how to fix)."""


def header_length(value: bytes | None, body_length: int) -> int | None:
    """The JSON header's length from ``Inference-Header-Content-Length``, or None if absent.

    Raises:
        FramingError: The value is not a non-negative integer no larger than the body.
    """
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit():
        raise FramingError(
            f"Inference-Header-Content-Length {value[:40].decode('latin-1')!r} is not a "
            "non-negative integer: send the byte length of the JSON header"
        )
    length = int(text)
    if length > body_length:
        raise FramingError(
            f"Inference-Header-Content-Length {length} is beyond the body's {body_length} bytes"
        )
    return length


def split_body(body: bytes, length: int | None) -> tuple[memoryview, memoryview]:
    """The JSON header and the binary section of a body (the whole body is JSON if None)."""
    view = memoryview(body)
    if length is None:
        return view, view[len(view) :]
    return view[:length], view[length:]


def binary_size(tensor: dict[str, Any], what: str) -> int | None:
    """A tensor's ``parameters.binary_data_size``, or None if it has none.

    Raises:
        FramingError: It is not a non-negative integer.
    """
    parameters = tensor.get("parameters")
    if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
        return None
    size = parameters["binary_data_size"]
    if type(size) is not int or size < 0:
        raise FramingError(
            f"{what}: parameters.binary_data_size {size!r} must be a non-negative integer"
        )
    return size


def slice_tensors(
    tensors: Sequence[Any], binary: memoryview, *, framed: bool, kind: str = "input"
) -> list[memoryview | None]:
    """Each tensor's slice of the binary section (None for a tensor sent as JSON ``data``).

    Args:
        tensors: The header's ``inputs`` (or ``outputs``), in order.
        binary: The bytes after the JSON header.
        framed: Whether the body had ``Inference-Header-Content-Length``.
        kind: ``input`` or ``output``, to name tensors in errors.

    Raises:
        FramingError: A size without the header, sizes beyond the section, or bytes left over.
    """
    slices: list[memoryview | None] = []
    offset = 0
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, dict):
            slices.append(None)
            continue
        what = f"{kind} {tensor.get('name', index)!r}"
        size = binary_size(tensor, what)
        if size is None:
            slices.append(None)
            continue
        if not framed:
            raise FramingError(
                f"{what} has parameters.binary_data_size but the request has no "
                "Inference-Header-Content-Length header: send the JSON header's byte length"
            )
        if offset + size > len(binary):
            raise FramingError(
                f"{what}: binary_data_size {size} goes beyond the body ({len(binary) - offset} "
                "bytes of binary data left)"
            )
        slices.append(binary[offset : offset + size])
        offset += size
    if offset != len(binary):
        raise FramingError(
            f"{len(binary) - offset} bytes after the tensors' binary data: the binary_data_size "
            "values must add up to the body length minus Inference-Header-Content-Length"
        )
    return slices


def split_bytes(raw: memoryview, what: str) -> list[memoryview]:
    """The elements of a ``BYTES`` tensor's binary data (4-byte little-endian lengths).

    Raises:
        FramingError: A length goes beyond the data.
    """
    items: list[memoryview] = []
    offset, end = 0, len(raw)
    while offset < end:
        if offset + 4 > end:
            raise FramingError(f"{what}: BYTES element {len(items)} has a truncated length prefix")
        (size,) = _PREFIX.unpack_from(raw, offset)
        offset += 4
        if offset + size > end:
            raise FramingError(
                f"{what}: BYTES element {len(items)} says {size} bytes, {end - offset} are left"
            )
        items.append(raw[offset : offset + size])
        offset += size
    return items


def join_bytes(items: Iterable[bytes | bytearray | memoryview | str]) -> bytes:
    """The binary data of a ``BYTES`` tensor (str elements are UTF-8)."""
    parts: list[bytes | bytearray | memoryview] = []
    for item in items:
        data = item.encode() if isinstance(item, str) else item
        parts.append(_PREFIX.pack(len(data)))
        parts.append(data)
    return b"".join(parts)


def pack(datatype: str, flat: Sequence[Any]) -> bytes:
    """The binary data of a fixed-size tensor from its flat elements.

    Raises:
        FramingError: An element does not fit the datatype.
    """
    if datatype == "BYTES":
        return join_bytes(flat)
    try:
        return struct.pack(f"<{len(flat)}{STRUCT_CODES[datatype]}", *flat)
    except (struct.error, KeyError, OverflowError) as exc:
        raise FramingError(f"cannot pack {datatype} data: {exc}") from None


def unpack(datatype: str, raw: memoryview) -> tuple[Any, ...]:
    """The elements of a fixed-size tensor's binary data, as Python scalars.

    Raises:
        FramingError: The byte count is not a whole number of elements.
    """
    size = ITEM_SIZES[datatype]
    if len(raw) % size:
        raise FramingError(f"{len(raw)} bytes are not a whole number of {datatype} elements")
    return struct.unpack(f"<{len(raw) // size}{STRUCT_CODES[datatype]}", raw)


def join_body(header: bytes, buffers: Sequence[bytes]) -> bytes:
    """A body of the extension: the JSON ``header`` then each buffer, in order."""
    return b"".join([header, *buffers])
