"""A small HTTP/1.1 server on ``asyncio.Protocol``: keep-alive, whole bodies, one handler.

Both hops of a prediction (the gateway and the replica runtime) spend most of a small request's
CPU in their HTTP server, not in the model: an ASGI stack (uvicorn, Starlette) costs hundreds of
microseconds per request in Python (measured in ``bench/``). This server does only what those two
need: parse a request head, read a ``content-length`` or chunked body whole, call one
``async handler(Request) -> Response``, write the answer with ``content-length``, and keep the
connection for the next request. Requests on one connection are answered in order (pipelined
ones wait in the buffer). It uses the stdlib only, so it runs inside users' environments.

Limits: heads over ``max_head`` are answered 431, bodies over ``max_body`` 413, a malformed
request 400 (each closes the connection). A connection idle for ``keep_alive_s`` (or stuck in a
partial request that long) is closed. :meth:`HttpServer.shutdown` stops accepting, lets the
requests in progress finish (bounded), then closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from http import HTTPStatus
from pathlib import Path
from typing import cast

from shipyard.http1.chunked import BodyTooLarge, dechunk
from shipyard.http1.messages import Handler, RawHeaders, Request, Response, error_response

log = logging.getLogger("shipyard.http1")

_HEAD_END = b"\r\n\r\n"
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_PAUSE_ABOVE = 1 << 20
"""Bytes buffered behind a request in progress before reading pauses (pipelined floods)."""


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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


class _Connection(asyncio.Protocol):
    """One client connection: parse, call the handler, answer, repeat."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False
        self._closing = False
        self._continued = False
        self._eof = False  # the client sent all it will send
        self._writable: asyncio.Future[None] | None = None
        self.last_active = time.monotonic()

    # asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._closing = True
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self.last_active = time.monotonic()
        if not self._busy:
            self._next()
        elif len(self._buffer) > _PAUSE_ABOVE and self._transport is not None:
            self._transport.pause_reading()

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

    # ours -------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A request of this connection is being answered."""
        return self._busy

    def close(self) -> None:
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def close_when_done(self) -> None:
        """Close now if idle, else right after the answer in progress."""
        self._closing = True
        if not self._busy:
            self.close()

    def _next(self) -> None:
        """Start the next whole request in the buffer, if there is one."""
        if self._closing:
            return
        try:
            parsed = self._parse()
        except _BadRequest as exc:
            self._write(error_response(exc.status, str(exc)), keep_alive=False)
            self.close()
            return
        if parsed is None:
            return
        request, keep_alive = parsed
        self._busy = True
        self._server.loop.create_task(self._answer(request, keep_alive))

    def _parse(self) -> tuple[Request, bool] | None:
        buf, server = self._buffer, self._server
        end = buf.find(_HEAD_END)
        if end < 0 and len(buf) <= server.max_head:
            return None
        if end < 0 or end > server.max_head:
            raise _BadRequest(431, f"request head larger than {server.max_head} bytes")
        lines = bytes(buf[:end]).split(b"\r\n")
        while lines and not lines[0]:  # tolerated: empty lines before a request
            lines.pop(0)
        if not lines:
            del buf[: end + 4]
            return None
        parts = lines[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        headers: RawHeaders = []
        length = 0
        chunked = False
        keep_alive = version == b"HTTP/1.1"
        expect_continue = False
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name[-1:] in (b" ", b"\t"):
                raise _BadRequest(400, "malformed header line")
            name, value = name.lower(), value.strip()
            if name == b"content-length":
                if not value.isdigit():
                    raise _BadRequest(400, "invalid content-length")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.lower().endswith(b"chunked")
                if not chunked:
                    raise _BadRequest(501, "unsupported transfer-encoding")
            elif name == b"connection":
                tokens = value.lower()
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
            elif name == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
            headers.append((name, value))
        start = end + 4
        if chunked:
            try:
                decoded = dechunk(buf, start, server.max_body)
            except BodyTooLarge as exc:
                raise _BadRequest(413, f"request {exc}") from None
            except ValueError as exc:
                raise _BadRequest(400, str(exc)) from None
            if decoded is None:
                self._maybe_continue(expect_continue)
                return None
            body, consumed = decoded
        else:
            if length > server.max_body:
                raise _BadRequest(413, f"request body larger than {server.max_body} bytes")
            if len(buf) - start < length:
                self._maybe_continue(expect_continue)
                return None
            body, consumed = bytes(buf[start : start + length]), start + length
        del buf[:consumed]
        self._continued = False
        request = Request(method.decode("latin-1"), target.decode("latin-1"), headers, body)
        return request, keep_alive

    def _maybe_continue(self, expected: bool) -> None:
        if expected and not self._continued and self._transport is not None:
            self._continued = True
            self._transport.write(_CONTINUE)

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
        self.last_active = time.monotonic()
        if not keep_alive or self._closing or (self._eof and not self._buffer):
            self.close()
            return
        if self._transport is not None and len(self._buffer) <= _PAUSE_ABOVE:
            self._transport.resume_reading()
        if self._buffer:
            self._next()

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
        if response.content_type is not None:
            head.append(b"content-type: " + response.content_type + b"\r\n")
        for name, value in response.headers:
            head.append(name + b": " + value + b"\r\n")
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
    """

    def __init__(
        self,
        handler: Handler,
        *,
        keep_alive_s: float = 5.0,
        max_head: int = 64 * 1024,
        max_body: int = 256 * 1024 * 1024,
    ) -> None:
        self.handler = handler
        self.keep_alive_s = keep_alive_s
        self.max_head = max_head
        self.max_body = max_body
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
            lambda: _Connection(self),
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
        server = await self.loop.create_unix_server(lambda: _Connection(self), str(path))
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

    async def _sweep(self) -> None:
        """Close connections idle (or stalled mid-request) for longer than ``keep_alive_s``."""
        interval = max(0.05, min(1.0, self.keep_alive_s / 4))
        while True:
            await asyncio.sleep(interval)
            limit = time.monotonic() - self.keep_alive_s
            for conn in list(self.connections):
                if conn.last_active < limit and not conn.busy:
                    conn.close()
