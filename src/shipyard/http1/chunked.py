"""Decoding a ``transfer-encoding: chunked`` body that may have arrived only in part."""

from __future__ import annotations


class BodyTooLarge(ValueError):
    """The chunks add up to more than the size allowed."""


def dechunk(buf: bytearray, start: int, max_size: int) -> tuple[bytes, int] | None:
    """The whole chunked body at ``buf[start:]``.

    Returns:
        ``(body, end)`` with ``end`` the offset just past the body (trailers included), or None
        while part of it has not arrived yet.

    Raises:
        BodyTooLarge: The body is longer than ``max_size``.
        ValueError: A chunk size line is malformed.
    """
    parts: list[bytes] = []
    total = 0
    pos = start
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        try:
            size = int(bytes(buf[pos:line_end]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ValueError("malformed chunk size") from None
        if size < 0:
            raise ValueError("malformed chunk size")
        total += size
        if total > max_size:
            raise BodyTooLarge(f"body larger than {max_size} bytes")
        pos = line_end + 2
        if size == 0:
            while True:  # trailers, up to an empty line
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                empty = line_end == pos
                pos = line_end + 2
                if empty:
                    return b"".join(parts), pos
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2
