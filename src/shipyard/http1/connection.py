"""One client connection of :class:`~shipyard.http1.server.HttpServer`, as an ``asyncio.Protocol``.

Feeds the bytes to the connection's request parser, lets the server's ``admit`` judge each head
before its body is read, keeps the body within the bound, answers requests one at a time, in
order (pipelined bytes wait unparsed in a bounded buffer, reading paused above it), and writes
each answer with ``content-length`` and only valid header values. The phase it is in (idle,
head, body, busy) and since when is what the server's sweeper judges deadlines by. A refused
request is answered, then the connection lingers a moment, dropping what still arrives, so
that the client reads the refusal instead of a reset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from enum import Enum
from http import HTTPStatus
from typing import TYPE_CHECKING, cast

from shipyard.http1.messages import (
    BadRequest,
    Head,
    Request,
    Response,
    error_response,
    valid_name,
    valid_value,
)

if TYPE_CHECKING:
    from shipyard.http1.server import HttpServer

log = logging.getLogger("shipyard.http1")

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_PAUSE_ABOVE = 1 << 20
"""Bytes buffered behind a request in progress before reading pauses (pipelined floods)."""


_LINGER_S = 1.0
"""How long a refused connection keeps reading (and dropping) before it closes."""


class _Refused(Exception):
    """The head was refused by the server's ``admit``; its answer is already chosen."""


class Phase(Enum):
    IDLE = 1
    """Between requests (keep-alive); bounded by ``keep_alive_s``."""
    HEAD = 2
    """A head has begun; it must end within ``head_timeout_s``."""
    BODY = 3
    """A body is arriving; it must keep ``min_body_rate``."""
    BUSY = 4
    """The handler is answering."""


class Connection(asyncio.Protocol):
    """One client connection: parse, admit the head, read the body, answer, repeat."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._parser = server.parser(self, server.max_head)
        self._held = bytearray()
        """Bytes received while a request is answered, parsed once it is (pipelining)."""
        self._ready: deque[tuple[Request, bool]] = deque()
        self._head: Head | None = None
        self._body = bytearray()
        self._max_body = server.max_body
        self._refusal: Response | None = None
        self._busy = False
        self._closing = False
        self._eof = False  # the client sent all it will send
        self._writable: asyncio.Future[None] | None = None
        self.phase = Phase.IDLE
        self.phase_since = self.last_active = time.monotonic()

    # asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        if len(self._server.connections) >= self._server.max_connections:
            retry = str(self._server.retry_after_s).encode()
            busy = error_response(503, "server busy: too many connections, retry shortly")
            busy.headers.append((b"retry-after", retry))
            self._write(busy, keep_alive=False)
            self.close()
            return
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._closing = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # lingering after a refusal: what the client still sends is dropped
        self.last_active = time.monotonic()
        if self._busy or self._ready:
            self._held += data
            if len(self._held) > _PAUSE_ABOVE and self._transport is not None:
                self._transport.pause_reading()
            return
        self._feed(data)

    def eof_received(self) -> bool | None:
        self._eof = True
        if not self._busy:
            self.close()
        return True  # keep the transport: an answer in progress is still written

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # ParserEvents -----------------------------------------------------------------------------

    def on_head(self, head: Head) -> None:
        self._enter(Phase.BODY)
        verdict = self._server.admit(head) if self._server.admit is not None else None
        if isinstance(verdict, Response):
            self._refusal = verdict
            raise _Refused()
        self._max_body = self._server.max_body if verdict is None else verdict
        if head.length is not None and head.length > self._max_body:
            raise BadRequest(413, f"request body larger than {self._max_body} bytes")
        self._head, self._body = head, bytearray()
        if head.expect_continue and self._transport is not None:
            self._transport.write(_CONTINUE)  # admitted: now the client may send the body

    def on_body(self, data: bytes) -> None:
        if len(self._body) + len(data) > self._max_body:
            raise BadRequest(413, f"request body larger than {self._max_body} bytes")
        self._body += data

    def on_complete(self) -> None:
        head = self._head
        assert head is not None
        request = Request(head.method, head.target, head.headers, bytes(self._body))
        self._ready.append((request, head.keep_alive))
        self._head, self._body = None, bytearray()
        self._enter(Phase.IDLE)

    # ours -------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A request of this connection is being answered."""
        return self._busy

    @property
    def body_bytes(self) -> int:
        """Bytes of the body being read."""
        return len(self._body)

    def close(self) -> None:
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def close_when_done(self) -> None:
        """Close now if idle, else right after the answer in progress."""
        self._closing = True
        if not self._busy:
            self.close()

    def expire(self, message: str) -> None:
        """Give up on a request that arrives too slowly: 408 and close."""
        self._write(error_response(408, message), keep_alive=False)
        self._linger()

    def _enter(self, phase: Phase) -> None:
        self.phase, self.phase_since = phase, time.monotonic()

    def _feed(self, data: bytes) -> None:
        if self._closing:
            return
        if self.phase is Phase.IDLE:
            self._enter(Phase.HEAD)
        try:
            self._parser.feed(data)
        except Exception as exc:
            self._fail(exc)
            return
        self._next()

    def _fail(self, exc: Exception) -> None:
        if self._refusal is not None:
            answer = self._refusal
        elif isinstance(exc, BadRequest):
            answer = error_response(exc.status, exc.message)
        else:
            log.exception("request parsing failed")
            answer = error_response(400, "malformed request")
        self._ready.clear()
        self._write(answer, keep_alive=False)
        self._linger()

    def _linger(self) -> None:
        """Close after a refusal without losing the answer: stop sending, drop what still
        arrives for a moment, then close (closing at once with unread bytes would reset the
        connection, and the client would never read why it was refused)."""
        self._closing = True
        self._enter(Phase.IDLE)  # no deadline of a request applies any more
        transport = self._transport
        if transport is None or transport.is_closing() or not transport.can_write_eof():
            self.close()
            return
        transport.write_eof()
        self._server.loop.call_later(_LINGER_S, self.close)

    def _next(self) -> None:
        """Answer the next whole request, if one is ready."""
        if self._closing or self._busy or not self._ready:
            return
        request, keep_alive = self._ready.popleft()
        self._busy = True
        self._enter(Phase.BUSY)
        self._server.loop.create_task(self._answer(request, keep_alive))

    async def _answer(self, request: Request, keep_alive: bool) -> None:
        try:
            response = await self._server.handler(request)
        except Exception as exc:
            log.exception("handler failed for %s %s", request.method, request.target)
            message = f"internal error: {type(exc).__name__}"
            response = error_response(500, message)
        keep_alive = keep_alive and not self._closing
        self._write(response, keep_alive=keep_alive, head_only=request.method == "HEAD")
        if self._writable is not None:
            await self._writable
        self._busy = False
        self._enter(Phase.IDLE)
        self.last_active = time.monotonic()
        if not keep_alive or self._closing or (self._eof and not self._held and not self._ready):
            self.close()
            return
        if self._ready:
            self._next()
            return
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            if self._transport is not None:
                self._transport.resume_reading()
            self._feed(held)

    def _write(self, response: Response, *, keep_alive: bool, head_only: bool = False) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        status = response.status
        body = response.body
        head = [
            b"HTTP/1.1 %d %s\r\ndate: %s\r\ncontent-length: %d\r\n"
            % (status, _REASONS.get(status, b"Unknown"), self._server.clock.date(), len(body))
        ]
        if response.content_type is not None and valid_value(response.content_type):
            head.append(b"content-type: " + response.content_type + b"\r\n")
        for name, value in response.headers:
            if valid_name(name) and valid_value(value):
                head.append(name + b": " + value + b"\r\n")
            else:
                log.warning("dropped an invalid header of the answer: %r", name[:40])
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        if not head_only and body:
            head.append(body)
        transport.write(b"".join(head))
