"""The gateway's HTTP/1.1 client to replicas: keep-alive connections pooled per replica.

Replicas are our own runtime on loopback, so the hop needs only plain HTTP/1.1 with
``content-length`` or chunked bodies. A general-purpose client spends most of a small request's
time in its pool bookkeeping (measured in ``bench/``: ~half of the gateway's CPU), so this one
keeps a LIFO stack of idle connections per replica and nothing else. Failures are raised as the
``httpx`` exception classes the forwarder already sorts into "retry elsewhere" and "give up":
a connection refused, reset or closed before a whole answer arrived is retryable; a replica
that keeps a request longer than the timeout is a ``ReadTimeout``. A request sent on a reused
connection that the replica had just closed is retried once on a new connection here.

:class:`HttpxUpstream` does the same through an ``httpx.AsyncClient`` (tests inject a mock
transport through it).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

RawHeaders = list[tuple[bytes, bytes]]
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """A replica's whole answer: status, headers (lowercase names) and body."""

    status: int
    headers: RawHeaders
    content: bytes


class Upstream(Protocol):
    async def send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Answer:
        """Send one request to ``url`` (a replica's base URL + target); its whole answer."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A reused connection was closed by the replica before it read our request."""


class RawUpstream:
    """Pooled keep-alive HTTP/1.1 to replicas (see the module docstring)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float = 5.0,
        keepalive_s: float = 4.0,
        max_idle_per_replica: int = 64,
    ) -> None:
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._keepalive_s = keepalive_s  # below the replica's 5 s idle close: no reuse races
        self._max_idle = max_idle_per_replica
        self._idle: dict[tuple[str, int], deque[_Conn]] = {}

    async def send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Answer:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = _request_head(method, target, f"{host}:{port}", headers, len(body))
        conn = self._pop((host, port))
        if conn is not None:
            try:
                return await self._exchange(conn, (host, port), head, body, reused=True)
            except _Stale:
                pass  # the replica closed it while idle: once more on a new connection
        conn = await self._connect(host, port)
        try:
            return await self._exchange(conn, (host, port), head, body, reused=False)
        except _Stale as exc:
            raise httpx.RemoteProtocolError(f"{host}:{port} closed the connection") from exc

    async def aclose(self) -> None:
        for stack in self._idle.values():
            while stack:
                stack.pop().close()

    def _pop(self, key: tuple[str, int]) -> _Conn | None:
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            if now - conn.idle_since < self._keepalive_s and not conn.writer.is_closing():
                return conn
            conn.close()
        return None

    def _push(self, key: tuple[str, int], conn: _Conn) -> None:
        stack = self._idle.setdefault(key, deque())
        if len(stack) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        stack.append(conn)

    async def _connect(self, host: str, port: int) -> _Conn:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=_MAX_HEAD), self._connect_timeout_s
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{host}:{port}: {exc}") from exc
        return _Conn(reader, writer)

    async def _exchange(
        self, conn: _Conn, key: tuple[str, int], head: bytes, body: bytes, *, reused: bool
    ) -> Answer:
        started = False
        try:
            conn.writer.write(head + body)
            await conn.writer.drain()
            async with asyncio.timeout(self._timeout_s):
                raw_head = await conn.reader.readuntil(b"\r\n\r\n")
                started = True
                status, answer_headers, length, chunked, keep_alive = _parse_head(raw_head)
                if chunked:
                    content = await _read_chunked(conn.reader)
                elif length is not None:
                    content = await conn.reader.readexactly(length)
                else:
                    content, keep_alive = await conn.reader.read(), False
        except TimeoutError as exc:
            conn.close()
            raise httpx.ReadTimeout(f"no answer within {self._timeout_s:g} s") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            conn.close()
            if reused and not started:
                raise _Stale() from exc
            raise httpx.ReadError(f"connection to {key[0]}:{key[1]} failed: {exc!r}") from exc
        if keep_alive:
            self._push(key, conn)
        else:
            conn.close()
        return Answer(status, answer_headers, content)


def _request_head(method: str, target: str, host: str, headers: RawHeaders, length: int) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {length}\r\n".encode()]
    lines += [name + b": " + value + b"\r\n" for name, value in headers]
    lines.append(b"\r\n")
    return b"".join(lines)


def _parse_head(raw: bytes) -> tuple[int, RawHeaders, int | None, bool, bool]:
    """(status, headers with lowercase names, content-length, chunked, keep-alive)."""
    lines = raw[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    status = int(rest[:3])
    headers: RawHeaders = []
    length: int | None = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = b"close" not in value.lower() and (
                keep_alive or b"keep-alive" in value.lower()
            )
        headers.append((name, value))
    if status in (204, 304) or 100 <= status < 200:
        length = 0
    return status, headers, length, chunked, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, if any
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class HttpxUpstream:
    """The same contract over an ``httpx.AsyncClient`` (used with injected test transports)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Answer:
        request = self._client.build_request(method, url, headers=headers, content=body or None)
        upstream = await self._client.send(request, stream=True)
        try:
            content = b"".join([chunk async for chunk in upstream.aiter_raw()])
        finally:
            await upstream.aclose()
        raw = [(name.lower(), value) for name, value in upstream.headers.raw]
        return Answer(upstream.status_code, raw, content)

    async def aclose(self) -> None:
        await self._client.aclose()
