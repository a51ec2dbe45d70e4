"""The gateway's request parser: llhttp (through ``httptools``, what uvicorn uses) under http1.

The gateway is shared by every project, so its parsing is done by a vetted parser rather than our
own: llhttp refuses ``content-length`` with ``transfer-encoding``, repeated lengths, codings other
than ``chunked`` last, lenient chunk sizes, a missing CRLF after chunk data, obs-fold, bare CR or
LF and controls in header values. This adapter adds what llhttp leaves to the application (the
same rules as the replica's stdlib parser, :mod:`shipyard.http1.parser`): exactly ``chunked`` as
the only coding, HTTP/1.0 or 1.1 only, exactly one ``host`` on HTTP/1.1, and a bound on the head
(llhttp has none: the bytes fed while a head is open are counted). It reports to the same
:class:`~shipyard.http1.messages.ParserEvents` as the stdlib parser, so the connection logic of
:class:`~shipyard.http1.HttpServer` (admission before the body, bounded buffers, deadlines) is
the same on both hops.
"""

from __future__ import annotations

import httptools

from shipyard.http1 import BadRequest, Head, ParserEvents, RawHeaders


def _framing(headers: RawHeaders, http11: bool) -> tuple[int | None, bool]:
    codings = [value for name, value in headers if name == b"transfer-encoding"]
    if codings:
        if not http11:
            raise BadRequest(400, "transfer-encoding on an HTTP/1.0 request")
        if len(codings) > 1 or codings[0].strip().lower() != b"chunked":
            raise BadRequest(501, "unsupported transfer-encoding: only 'chunked' is accepted")
        return None, True
    lengths = [value for name, value in headers if name == b"content-length"]
    return (int(lengths[0]) if lengths else None), False


class HttptoolsParser:
    """One connection's requests, parsed by llhttp (see the module docstring)."""

    def __init__(self, events: ParserEvents, max_head: int) -> None:
        self._events = events
        self._max_head = max_head
        self._parser = httptools.HttpRequestParser(self)
        self._url = bytearray()
        self._headers: RawHeaders = []
        self._in_head = False
        self._head_bytes = 0

    def feed(self, data: bytes) -> None:
        """Parse ``data``; raises :class:`~shipyard.http1.BadRequest` or what an event raised."""
        if self._in_head:
            self._head_bytes += len(data)
            self._check_head_size()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__ or exc.__cause__
            raise (cause if isinstance(cause, Exception) else exc) from None
        except httptools.HttpParserUpgrade:
            raise BadRequest(400, "protocol upgrades are not supported") from None
        except httptools.HttpParserError as exc:
            raise BadRequest(400, f"malformed request: {exc}") from None

    def _check_head_size(self) -> None:
        if self._head_bytes > self._max_head:
            raise BadRequest(431, f"request head larger than {self._max_head} bytes")

    # httptools callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url.clear()
        self._headers = []
        self._in_head, self._head_bytes = True, 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        self._check_head_size()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        self._check_head_size()  # trailers count against the bound too
        if self._in_head:  # trailers are dropped: nothing may join the head once it is judged
            self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        version = self._parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise BadRequest(505, "HTTP version not supported: use HTTP/1.1")
        http11 = version == "1.1"
        headers = self._headers
        hosts = sum(1 for name, _ in headers if name == b"host")
        if hosts > 1 or (http11 and not hosts):
            raise BadRequest(400, "an HTTP/1.1 request needs exactly one host header")
        length, chunked = _framing(headers, http11)
        expect = next((v for n, v in headers if n == b"expect"), b"").lower() == b"100-continue"
        head = Head(
            self._parser.get_method().decode("ascii"),
            bytes(self._url).decode("latin-1"),
            headers,
            self._parser.should_keep_alive(),
            length,
            chunked,
            expect and http11,
        )
        self._events.on_head(head)

    def on_body(self, body: bytes) -> None:
        self._events.on_body(body)

    def on_message_complete(self) -> None:
        self._events.on_complete()
