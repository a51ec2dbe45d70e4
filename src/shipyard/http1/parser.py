"""A strict HTTP/1.1 request parser in the standard library (RFC 9112), for the replica runtime.

The gateway parses with llhttp (``httptools``, :mod:`shipyard.gateway.parser`); the replica
runtime must stay standard-library only, so it uses this one, which refuses every ambiguity a
front proxy could disagree about (request smuggling) and answers it with a 4xx/5xx and a close:

- bare CR or LF, NUL or other controls in the head; obs-fold (a line starting with a space);
  whitespace before a header's colon; a malformed request line; versions other than 1.0/1.1;
- ``content-length`` that is not digits, repeated, or sent with ``transfer-encoding``;
- any ``transfer-encoding`` but exactly ``chunked`` (501), or one on an HTTP/1.0 request;
- a missing or repeated ``host`` on HTTP/1.1;
- heads larger than ``max_head`` (431); chunked bodies decode strictly and linearly
  (:mod:`shipyard.http1.chunked`).

Each connection gets one :class:`StrictParser`, which reports heads, body bytes and the end of
each request to its :class:`~shipyard.http1.messages.ParserEvents` and keeps only the bytes of a
head (or a chunk-size line) not yet complete.
"""

from __future__ import annotations

import re

from shipyard.http1.chunked import BodyTooLarge, ChunkedDecoder, ChunkError
from shipyard.http1.messages import (
    BadRequest,
    Head,
    ParserEvents,
    RawHeaders,
    valid_name,
    valid_value,
)

_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/(\d)\.(\d)")
_MAX_LEADING_EMPTY = 8
"""Empty lines tolerated before a request line (RFC 9112 2.2 allows at least one)."""


def _framing(headers: RawHeaders, http11: bool) -> tuple[int | None, bool]:
    """``(content length, chunked)`` of a head, refusing every ambiguous combination."""
    lengths = [value for name, value in headers if name == b"content-length"]
    codings = [value for name, value in headers if name == b"transfer-encoding"]
    if lengths and codings:
        raise BadRequest(400, "both content-length and transfer-encoding")
    if len(lengths) > 1:
        raise BadRequest(400, "more than one content-length")
    if codings:
        if not http11:
            raise BadRequest(400, "transfer-encoding on an HTTP/1.0 request")
        if len(codings) > 1 or codings[0].lower() != b"chunked":
            raise BadRequest(501, "unsupported transfer-encoding: only 'chunked' is accepted")
        return None, True
    if lengths:
        value = lengths[0]
        if not value.isdigit() or len(value) > 18:
            raise BadRequest(400, "invalid content-length")
        return int(value), False
    return None, False


def _header(line: bytes) -> tuple[bytes, bytes]:
    if line[:1] in (b" ", b"\t"):
        raise BadRequest(400, "obsolete line folding in a header")
    name, sep, value = line.partition(b":")
    if not sep or not valid_name(name):
        raise BadRequest(400, "malformed header line")
    value = value.strip(b" \t")
    if not valid_value(value):
        raise BadRequest(400, "invalid character in a header value")
    return name.lower(), value


def parse_head(raw: bytes) -> Head:
    """The head in ``raw`` (everything before the empty line, without it).

    Raises:
        BadRequest: anything RFC 9112 does not allow, or that could be read two ways.
    """
    if b"\n" in raw.replace(b"\r\n", b"") or b"\r" in raw.replace(b"\r\n", b""):
        raise BadRequest(400, "bare CR or LF in the request head")
    lines = raw.split(b"\r\n")
    skipped = 0
    while lines and not lines[0]:
        lines.pop(0)
        skipped += 1
    if not lines or skipped > _MAX_LEADING_EMPTY:
        raise BadRequest(400, "no request line")
    found = _REQUEST_LINE.fullmatch(lines[0])
    if found is None:
        raise BadRequest(400, "malformed request line")
    method, target, major, minor = found.groups()
    if (major, minor) not in ((b"1", b"1"), (b"1", b"0")):
        raise BadRequest(505, "HTTP version not supported: use HTTP/1.1")
    http11 = minor == b"1"
    headers = [_header(line) for line in lines[1:]]
    hosts = [value for name, value in headers if name == b"host"]
    if len(hosts) > 1 or (http11 and not hosts):
        raise BadRequest(400, "an HTTP/1.1 request needs exactly one host header")
    length, chunked = _framing(headers, http11)
    connection = b",".join(v for n, v in headers if n == b"connection").lower()
    tokens = {token.strip() for token in connection.split(b",")}
    keep_alive = b"close" not in tokens and (http11 or b"keep-alive" in tokens)
    expect = next((v for n, v in headers if n == b"expect"), b"").lower() == b"100-continue"
    return Head(
        method.decode("ascii"),
        target.decode("ascii"),
        headers,
        keep_alive,
        length,
        chunked,
        expect and http11,
    )


class StrictParser:
    """Parses the requests of one connection, one after the other (see the module docstring)."""

    def __init__(self, events: ParserEvents, max_head: int) -> None:
        self._events = events
        self._max_head = max_head
        self._buffer = bytearray()
        self._scanned = 0
        self._left: int | None = None
        """Body bytes still due of a ``content-length`` body (None: reading a head)."""
        self._chunks: ChunkedDecoder | None = None

    def feed(self, data: bytes) -> None:
        """Parse ``data`` (see :class:`~shipyard.http1.messages.RequestParser`)."""
        buf = self._buffer
        buf += data
        while buf:
            if self._chunks is not None:
                if not self._chunked(buf):
                    return
            elif self._left is not None:
                take = min(self._left, len(buf))
                self._events.on_body(bytes(buf[:take]))
                del buf[:take]
                self._left -= take
                if self._left:
                    return
                self._complete()
            elif not self._head(buf):
                return

    def _head(self, buf: bytearray) -> bool:
        start = max(0, self._scanned - 3)  # each byte is searched once, however it trickles in
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            self._scanned = len(buf)
            if len(buf) > self._max_head:
                raise BadRequest(431, f"request head larger than {self._max_head} bytes")
            if buf.find(b"\n\n", start) >= 0 or buf.find(b"\0", start) >= 0:
                raise BadRequest(400, "bare LF or NUL in the request head")
            return False
        if end > self._max_head:
            raise BadRequest(431, f"request head larger than {self._max_head} bytes")
        head = parse_head(bytes(buf[:end]))
        del buf[: end + 4]
        self._scanned = 0
        if head.chunked:
            self._chunks = ChunkedDecoder(1 << 62)  # the connection bounds the body it keeps
        else:
            self._left = head.length or 0
        self._events.on_head(head)
        if self._left == 0:
            self._complete()
        return True

    def _chunked(self, buf: bytearray) -> bool:
        assert self._chunks is not None
        try:
            parts = self._chunks.feed(buf)
        except (ChunkError, BodyTooLarge) as exc:
            raise BadRequest(400, str(exc)) from None
        for part in parts:
            self._events.on_body(part)
        if not self._chunks.done:
            return False
        self._complete()
        return True

    def _complete(self) -> None:
        self._left, self._chunks = None, None
        self._events.on_complete()
