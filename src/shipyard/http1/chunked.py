"""Decoding a ``transfer-encoding: chunked`` body as its bytes arrive, strictly and in linear time.

RFC 9112 section 7.1: ``chunk-size`` is hex digits only (no ``0x``, sign, underscore or space),
an extension may follow after ``;``, every line ends with CRLF, chunk data is followed by CRLF,
and the last chunk (size 0) is followed by trailer lines and an empty line. Each byte is looked
at once: what arrived is consumed from the caller's buffer as it is decoded, so a body of a
million one-byte chunks costs a million small steps, not a million re-parses. Size lines
(with their extensions) and the trailer section are bounded.
"""

from __future__ import annotations

from enum import Enum

MAX_SIZE_LINE = 1024
"""Longest chunk-size line, extensions included (bytes)."""
MAX_TRAILERS = 8 * 1024
"""Largest trailer section (bytes); trailers are read and dropped."""
_HEX = frozenset(b"0123456789abcdefABCDEF")


class ChunkError(ValueError):
    """The body is not well-formed chunked coding."""


class BodyTooLarge(ValueError):
    """The chunks add up to more than the size allowed."""


class _State(Enum):
    SIZE = 1
    DATA = 2
    DATA_END = 3
    TRAILERS = 4
    DONE = 5


class ChunkedDecoder:
    """One chunked body. Feed it the buffer; it consumes what it decoded.

    Args:
        max_body: the largest decoded body accepted.
    """

    def __init__(self, max_body: int) -> None:
        self._max_body = max_body
        self._state = _State.SIZE
        self._left = 0
        self._total = 0
        self._trailer_bytes = 0

    @property
    def done(self) -> bool:
        """The last chunk and the trailer section were read."""
        return self._state is _State.DONE

    def feed(self, buf: bytearray) -> list[bytes]:
        """Decode what ``buf`` holds; the decoded bytes are removed from it.

        Returns:
            The body bytes decoded (possibly none); check :attr:`done` afterwards.

        Raises:
            ChunkError: malformed chunked coding.
            BodyTooLarge: the body exceeds ``max_body``.
        """
        out: list[bytes] = []
        while buf and self._state is not _State.DONE:
            if self._state is _State.SIZE:
                if not self._size_line(buf):
                    break
            elif self._state is _State.DATA:
                take = min(self._left, len(buf))
                out.append(bytes(buf[:take]))
                del buf[:take]
                self._left -= take
                if not self._left:
                    self._state = _State.DATA_END
            elif self._state is _State.DATA_END:
                if len(buf) < 2:
                    if buf[0] != 0x0D:
                        raise ChunkError("chunk data not followed by CRLF")
                    break
                if buf[:2] != b"\r\n":
                    raise ChunkError("chunk data not followed by CRLF")
                del buf[:2]
                self._state = _State.SIZE
            elif not self._trailer_line(buf):
                break
        return out

    def _line(self, buf: bytearray, limit: int, what: str) -> bytes | None:
        end = buf.find(b"\n", 0, limit + 2)
        if end < 0:
            if len(buf) > limit + 1:
                raise ChunkError(f"{what} longer than {limit} bytes")
            return None
        if end == 0 or buf[end - 1] != 0x0D:
            raise ChunkError(f"bare LF in a {what}")
        line = bytes(buf[: end - 1])
        del buf[: end + 1]
        if b"\r" in line or b"\x00" in line:
            raise ChunkError(f"bare CR or NUL in a {what}")
        return line

    def _size_line(self, buf: bytearray) -> bool:
        line = self._line(buf, MAX_SIZE_LINE, "chunk-size line")
        if line is None:
            return False
        digits = line.split(b";", 1)[0]
        if not digits or len(digits) > 16 or not all(c in _HEX for c in digits):
            raise ChunkError(f"invalid chunk size {digits[:20]!r}: hex digits only")
        size = int(digits, 16)
        self._total += size
        if self._total > self._max_body:
            raise BodyTooLarge(f"body larger than {self._max_body} bytes")
        if size:
            self._left, self._state = size, _State.DATA
        else:
            self._state = _State.TRAILERS
        return True

    def _trailer_line(self, buf: bytearray) -> bool:
        left = MAX_TRAILERS - self._trailer_bytes
        line = self._line(buf, max(0, left), "trailer section")
        if line is None:
            return False
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > MAX_TRAILERS:
            raise ChunkError(f"trailer section longer than {MAX_TRAILERS} bytes")
        if not line:
            self._state = _State.DONE
        elif line[:1] in (b" ", b"\t") or b":" not in line:
            raise ChunkError("malformed trailer line")
        return True
