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
import time
from pathlib import Path

from shipyard.http1.connection import Connection, Phase
from shipyard.http1.messages import (
    Admit,
    Handler,
    ParserFactory,
)
from shipyard.http1.parser import StrictParser


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
        self.connections: set[Connection] = set()
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
        return Connection(self)

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
            if conn.phase is Phase.IDLE and now - conn.last_active > self.keep_alive_s:
                conn.close()
            elif conn.phase is Phase.HEAD and age > self.head_timeout_s:
                conn.expire(f"request head not complete within {self.head_timeout_s:g} s")
            elif conn.phase is Phase.BODY and conn.body_bytes < self.min_body_rate * (
                age - self.head_timeout_s
            ):
                conn.expire(f"request body slower than {self.min_body_rate:g} bytes/s")
