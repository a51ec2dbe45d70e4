"""A small HTTP/1.1 server on ``asyncio.Protocol``: keep-alive, whole bodies, one handler.

Both hops of a prediction (the gateway and the replica runtime) spend most of a small request's
CPU in their HTTP server, not in the model: an ASGI stack (uvicorn, Starlette) costs hundreds of
microseconds per request in Python (measured in ``bench/``). This server does only what those two
need: parse a request head, let ``admit`` judge it (the gateway checks the API key there, before
any body is buffered), read a ``content-length`` or chunked body whole, call one
``async handler(Request) -> Response``, write the answer with ``content-length``, and keep the
connection for the next request. Requests on one connection are answered in order (pipelined
ones wait, unparsed, in a bounded buffer). The parser is pluggable: the replica runtime uses the
strict stdlib one (:mod:`shipyard.http1.parser`), the gateway llhttp through ``httptools``.

Nothing is unbounded: heads over ``max_head`` are answered 431, bodies over ``max_body`` (or
what ``admit`` allows) 413, a malformed request 400/501 (each closes the connection); a head
must be complete within ``head_timeout_s`` and a body must arrive at ``min_body_rate`` bytes/s
(after a grace of ``head_timeout_s``), else 408 and close; a connection idle for
``keep_alive_s`` is closed; past ``max_connections`` a new connection is answered 503 with
``retry-after`` and closed. Header values are checked before they are written.
:meth:`HttpServer.shutdown` stops accepting, lets the requests in progress finish (bounded),
then closes every connection. Standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from collections import deque
from enum import Enum
from http import HTTPStatus
from pathlib import Path
from typing import cast

from shipyard.http1.messages import (
    Admit,
    BadRequest,
    Handler,
    Head,
    ParserFactory,
    Request,
    Response,
    error_response,
    valid_name,
    valid_value,
)
from shipyard.http1.parser import StrictParser

log = logging.getLogger("shipyard.http1")

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_PAUSE_ABOVE = 1 << 20
"""Bytes buffered behind a request in progress before reading pauses (pipelined floods)."""


_LINGER_S = 1.0
"""How long a refused connection keeps reading (and dropping) before it closes."""


class _Refused(Exception):
    """The head was refused by the server's ``admit``; its answer is already chosen."""


class _Clock:
    """The ``date`` header, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True).encode()
        return self._value


class _Phase(Enum):
    IDLE = 1
    """Between requests (keep-alive); bounded by ``keep_alive_s``."""
    HEAD = 2
    """A head has begun; it must end within ``head_timeout_s``."""
    BODY = 3
    """A body is arriving; it must keep ``min_body_rate``."""
    BUSY = 4
    """The handler is answering."""


class _Connection(asyncio.Protocol):
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
        self.phase = _Phase.IDLE
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
        self._enter(_Phase.BODY)
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
        self._enter(_Phase.IDLE)

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
        self.close()

    def _enter(self, phase: _Phase) -> None:
        self.phase, self.phase_since = phase, time.monotonic()

    def _feed(self, data: bytes) -> None:
        if self._closing:
            return
        if self.phase is _Phase.IDLE:
            self._enter(_Phase.HEAD)
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
        self._enter(_Phase.IDLE)  # no deadline of a request applies any more
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
        self._enter(_Phase.BUSY)
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
        self._enter(_Phase.IDLE)
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


class HttpServer:
    """Serves ``handler`` on one listening socket (see the module docstring).

    Args:
        handler: Called once per request, in order per connection.
        keep_alive_s: Idle seconds before a connection is closed.
        max_head: Largest request head accepted (bytes).
        max_body: Largest request body accepted (bytes).
        admit: Judges each head before its body is read (see :data:`~.messages.Admit`).
        parser: Makes each connection's request parser (default: the strict stdlib one).
        head_timeout_s: Longest a request head may take to arrive.
        min_body_rate: Fewest body bytes per second a request must keep up.
        max_connections: Most open connections; more are answered 503.
        retry_after_s: The ``retry-after`` of that 503.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        keep_alive_s: float = 5.0,
        max_head: int = 64 * 1024,
        max_body: int = 256 * 1024 * 1024,
        admit: Admit | None = None,
        parser: ParserFactory = StrictParser,
        head_timeout_s: float = 10.0,
        min_body_rate: float = 64 * 1024,
        max_connections: int = 1024,
        retry_after_s: int = 1,
    ) -> None:
        self.handler = handler
        self.keep_alive_s = keep_alive_s
        self.max_head = max_head
        self.max_body = max_body
        self.admit = admit
        self.parser = parser
        self.head_timeout_s = head_timeout_s
        self.min_body_rate = min_body_rate
        self.max_connections = max_connections
        self.retry_after_s = retry_after_s
        self.clock = _Clock()
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._unix: tuple[asyncio.Server, Path] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port: int | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "the server is not started"
        return self._loop

    @property
    def port(self) -> int:
        """The bound port (useful after starting on port 0)."""
        assert self._port is not None, "the server is not started"
        return self._port

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Bind and start accepting (returns at once).

        ``reuse_port``: several processes bind the same port (``SO_REUSEPORT``) and the kernel
        spreads new connections among them.
        """
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            self.connection,
            host,
            port,
            reuse_address=True,
            reuse_port=reuse_port or None,
            backlog=2048,
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        self._sweeper = self._loop.create_task(self._sweep(), name="shipyard-http1-idle")

    async def start_unix(self, path: Path) -> None:
        """Also accept on a Unix socket at ``path`` (after :meth:`start`): local clients skip
        the TCP stack. A file left there by an earlier process is replaced; the socket file is
        removed at shutdown."""
        path.unlink(missing_ok=True)
        server = await self.loop.create_unix_server(self.connection, str(path))
        self._unix = (server, path)

    async def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop accepting, wait up to ``timeout_s`` for answers in progress, close everything."""
        servers = [server for server in (self._server, self._unix and self._unix[0]) if server]
        for server in servers:
            server.close()
        if self._unix is not None:
            self._unix[1].unlink(missing_ok=True)
        for conn in list(self.connections):
            conn.close_when_done()
        deadline = time.monotonic() + timeout_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for server in servers:
            await server.wait_closed()

    def connection(self) -> asyncio.Protocol:
        """A protocol for one more connection (what :meth:`start` gives each accepted socket;
        also how a transport of another kind, in memory say, is served)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return _Connection(self)

    async def _sweep(self) -> None:
        """Close connections idle too long, heads that take too long, bodies that trickle."""
        interval = max(0.05, min(1.0, self.keep_alive_s / 4, self.head_timeout_s / 4))
        while True:
            await asyncio.sleep(interval)
            self.sweep_once(time.monotonic())

    def sweep_once(self, now: float) -> None:
        """One round of :meth:`_sweep` at time ``now`` (monotonic seconds)."""
        for conn in list(self.connections):
            age = now - conn.phase_since
            if conn.phase is _Phase.IDLE and now - conn.last_active > self.keep_alive_s:
                conn.close()
            elif conn.phase is _Phase.HEAD and age > self.head_timeout_s:
                conn.expire(f"request head not complete within {self.head_timeout_s:g} s")
            elif conn.phase is _Phase.BODY and conn.body_bytes < self.min_body_rate * (
                age - self.head_timeout_s
            ):
                conn.expire(f"request body slower than {self.min_body_rate:g} bytes/s")
