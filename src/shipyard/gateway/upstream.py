"""The gateway's HTTP/1.1 client to replicas: keep-alive connections pooled per replica.

Replicas are our own runtime on loopback, so the hop needs only plain HTTP/1.1 with
``content-length`` or chunked bodies. A general-purpose client spends most of a small request's
time in its pool bookkeeping (measured in ``bench/``: ~half of the gateway's CPU), so this one
keeps a LIFO stack of idle connections per replica and nothing else; each connection is an
``asyncio.Protocol`` that parses the answer as its bytes arrive (no stream reader, one timer per
request). A replica on this machine is reached over its Unix socket when the routing table gives
one (``http+unix://<percent-encoded socket path>``): the same HTTP/1.1 without the TCP stack,
about a fifth less time per exchange on loopback.

Failures are raised as the ``httpx`` exception classes the forwarder already sorts into "retry
elsewhere" and "give up": a connection refused, reset or closed before a whole answer arrived is
retryable; a replica that keeps a request longer than the timeout is a
``ReadTimeout``. A request sent on a reused connection that the replica had just closed (nothing
of an answer received) is retried once on a new connection here.

:class:`HttpxUpstream` does the same through an ``httpx.AsyncClient`` (tests inject a mock
transport through it).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol, cast

import httpx

from shipyard.http1.chunked import dechunk
from shipyard.wire.addresses import Address, parse_address, split_url

RawHeaders = list[tuple[bytes, bytes]]
_MAX_HEAD = 64 * 1024
_MAX_BODY = 1 << 31


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


class _Closed(Exception):
    """The connection closed before a whole answer arrived."""

    def __init__(self, received: bool, cause: BaseException | None) -> None:
        super().__init__(repr(cause) if cause else "closed by the replica")
        self.received = received


@dataclass(slots=True)
class _Head:
    status: int
    headers: RawHeaders
    length: int | None
    chunked: bool
    keep_alive: bool
    body_start: int


class _Conn(asyncio.Protocol):
    """One keep-alive connection to a replica, at most one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.keep_alive = False
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._waiter: asyncio.Future[Answer] | None = None
        self._has_body = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is not None and not self._waiter.done():
            try:
                self._advance()
            except ValueError as exc:
                self._waiter.set_exception(exc)

    def eof_received(self) -> bool | None:
        return False  # close: a replica never half-closes to keep answering

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        head = self._head
        if head is not None and head.length is None and not head.chunked:  # read to the close
            body = bytes(self._buffer[head.body_start :])
            waiter.set_result(Answer(head.status, head.headers, body))
            return
        waiter.set_exception(_Closed(bool(self._buffer), exc))

    def request(self, data: bytes, *, has_body: bool = True) -> asyncio.Future[Answer]:
        """Send one request; the future resolves with its whole answer.

        ``has_body=False`` (a HEAD request): the answer's length headers describe no body.
        """
        assert self.transport is not None
        self._buffer.clear()
        self._head = None
        self._has_body = has_body
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _advance(self) -> None:
        buf = self._buffer
        head = self._head
        while head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    raise ValueError("answer head too large")
                return
            head = _parse_head(bytes(buf[: end + 4]), end + 4)
            if not self._has_body:
                head.length, head.chunked = 0, False
            if 100 <= head.status < 200:  # an interim answer: the real one follows
                del buf[: end + 4]
                head = None
        self._head = head
        start = head.body_start
        if head.chunked:
            found = dechunk(buf, start, _MAX_BODY)
            if found is None:
                return
            body = found[0]
        elif head.length is not None:
            if len(buf) - start < head.length:
                return
            body = bytes(buf[start : start + head.length])
        else:
            return  # the body ends when the replica closes the connection
        self.keep_alive = head.keep_alive
        assert self._waiter is not None
        self._waiter.set_result(Answer(head.status, head.headers, body))


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
        self._idle: dict[Address, deque[_Conn]] = {}
        self._addresses: dict[str, Address] = {}

    async def send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Answer:
        base, target = split_url(url)
        address = self._addresses.get(base)
        if address is None:
            if len(self._addresses) > 4096:  # replicas come and go: never grow without bound
                self._addresses.clear()
            address = self._addresses[base] = parse_address(base)
        data = _request_head(method, target, address.header, headers, len(body)) + body
        conn = self._pop(address)
        if conn is not None:
            try:
                return await self._exchange(conn, address, data, method)
            except _Closed as exc:
                if exc.received:
                    raise httpx.ReadError(f"{address} closed the connection: {exc}") from exc
                # closed by the replica while idle: once more on a new connection
        conn = await self._connect(address)
        try:
            return await self._exchange(conn, address, data, method)
        except _Closed as exc:
            raise httpx.ReadError(f"connection to {address} failed: {exc}") from exc

    async def aclose(self) -> None:
        for stack in self._idle.values():
            while stack:
                stack.pop().close()

    def _pop(self, key: Address) -> _Conn | None:
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            if now - conn.idle_since < self._keepalive_s and not conn.closed:
                return conn
            conn.close()
        return None

    def _push(self, key: Address, conn: _Conn) -> None:
        stack = self._idle.setdefault(key, deque())
        if len(stack) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        stack.append(conn)

    async def _connect(self, address: Address) -> _Conn:
        loop = asyncio.get_running_loop()
        if address.unix:
            connecting = loop.create_unix_connection(_Conn, address.host)
        else:
            connecting = loop.create_connection(_Conn, address.host, address.port)
        try:
            _, conn = await asyncio.wait_for(connecting, self._connect_timeout_s)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {address} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"{address}: {exc}") from exc
        return conn

    async def _exchange(self, conn: _Conn, key: Address, data: bytes, method: str) -> Answer:
        waiter = conn.request(data, has_body=method != "HEAD")
        timer = asyncio.get_running_loop().call_later(self._timeout_s, _expire, waiter)
        try:
            answer = await waiter
        except BaseException as exc:
            conn.close()  # an answer may still be on its way: never reuse this connection
            if isinstance(exc, TimeoutError):
                raise httpx.ReadTimeout(f"no answer within {self._timeout_s:g} s") from exc
            if isinstance(exc, ValueError):
                raise httpx.ReadError(f"{key} answered badly: {exc}") from exc
            raise
        finally:
            timer.cancel()
        if conn.keep_alive and not conn.closed:
            self._push(key, conn)
        else:
            conn.close()
        return answer


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _request_head(method: str, target: str, host: str, headers: RawHeaders, length: int) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {length}\r\n".encode()]
    lines += [name + b": " + value + b"\r\n" for name, value in headers]
    lines.append(b"\r\n")
    return b"".join(lines)


def _parse_head(raw: bytes, body_start: int) -> _Head:
    """The status line and headers of an answer (lowercase header names)."""
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
    return _Head(status, headers, length, chunked, keep_alive, body_start)


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
