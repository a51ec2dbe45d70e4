"""The gateway's HTTP/1.1 client to replicas: keep-alive connections pooled per replica.

Replicas are our own runtime on loopback, so the hop needs only plain HTTP/1.1 with
``content-length`` (or chunked) answers. A general-purpose client spends most of a small request's
time in its pool bookkeeping (measured in ``bench/``: ~half of the gateway's CPU), so this one
keeps a LIFO stack of idle connections per replica and nothing else; each connection is an
``asyncio.Protocol`` that parses the answer as its bytes arrive (no stream reader, one timer per
request). A replica on this machine is reached over its Unix socket when the routing table gives
one (``http+unix://<percent-encoded socket path>``). How a connection is opened is injected
(:data:`Connect`): sockets in production, an in-memory transport in the gateway's unit tests,
which so run this very client.

Failures are this module's own exceptions, sorted by what the forwarder may do about them:
:class:`NotSent` (refused, connect timeout: the replica never saw the request, so another may
take it); :class:`Lost` (the connection closed or broke after the request was written: the
replica may have read it, and it may be what killed it, so it is never sent again);
:class:`BadAnswer` (malformed, oversized, or with a negative or non-numeric length);
:class:`AnswerTimeout`. Answers are parsed strictly and bounded (head ``MAX_HEAD``, body
``max_answer``), chunked ones decoded in linear time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from shipyard.http1.chunked import BodyTooLarge, ChunkedDecoder, ChunkError
from shipyard.http1.messages import RawHeaders, valid_name, valid_value
from shipyard.wire.addresses import Address, parse_address, split_url

MAX_HEAD = 64 * 1024
"""Largest answer head accepted from a replica (bytes)."""


class UpstreamError(Exception):
    """A request to a replica that got no usable answer."""


class NotSent(UpstreamError):
    """The replica never received the request (connection refused or not made in time)."""


class Lost(UpstreamError):
    """The connection ended after the request was written and before the whole answer."""


class BadAnswer(UpstreamError):
    """The replica's answer is malformed or larger than allowed."""


class AnswerTimeout(UpstreamError):
    """The replica took the request but did not answer in time."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A replica's whole answer: status, headers (lowercase names) and body."""

    status: int
    headers: RawHeaders
    content: bytes


class Upstream(Protocol):
    async def send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Answer:
        """Send one request to ``url`` (a replica's base URL + target); its whole answer.

        Raises:
            UpstreamError: one of the subclasses above.
        """
        ...

    async def aclose(self) -> None: ...


Connect = Callable[[Address, Callable[[], asyncio.Protocol]], Awaitable[asyncio.Protocol]]
"""Opens a connection to a replica's address with a protocol from the factory; raises
``OSError`` (or ``TimeoutError``) when it cannot."""


async def connect_socket(
    address: Address, factory: Callable[[], asyncio.Protocol]
) -> asyncio.Protocol:
    """:data:`Connect` over TCP or a Unix socket (production)."""
    loop = asyncio.get_running_loop()
    if address.unix:
        _, protocol = await loop.create_unix_connection(factory, address.host)
    else:
        _, protocol = await loop.create_connection(factory, address.host, address.port)
    return protocol


class _Closed(Exception):
    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(repr(cause) if cause else "closed by the replica")


class _Unsent(Exception):
    """The kernel refused the request's first write: the connection was already gone."""


@dataclass(slots=True)
class _Head:
    status: int
    headers: RawHeaders
    length: int | None
    chunked: bool
    keep_alive: bool


def _length(values: list[bytes]) -> int | None:
    if not values:
        return None
    if len(set(values)) != 1 or not values[0].isdigit() or len(values[0]) > 18:
        raise BadAnswer(f"invalid content-length {b','.join(values)[:40]!r}")
    return int(values[0])


def _parse_head(raw: bytes, has_body: bool) -> _Head:
    """The status line and headers of an answer (lowercase names), strictly."""
    lines = raw.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if (
        version not in (b"HTTP/1.1", b"HTTP/1.0")
        or not code.isdigit()
        or rest[3:4]
        not in (
            b"",
            b" ",
        )
    ):
        raise BadAnswer(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: RawHeaders = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        value = value.strip(b" \t")
        if not sep or not valid_name(name) or not valid_value(value):
            raise BadAnswer(f"malformed header line {line[:80]!r}")
        headers.append((name.lower(), value))
    status = int(code)
    codings = [v.lower() for n, v in headers if n == b"transfer-encoding"]
    length = _length([v for n, v in headers if n == b"content-length"])
    if codings and (codings != [b"chunked"] or length is not None):
        raise BadAnswer(
            "ambiguous framing: transfer-encoding other than 'chunked' or with a length"
        )
    connection = b",".join(v for n, v in headers if n == b"connection").lower()
    keep_alive = b"close" not in connection and version == b"HTTP/1.1"
    if not has_body or status in (204, 304) or 100 <= status < 200:
        return _Head(status, headers, 0, False, keep_alive)
    return _Head(status, headers, length, bool(codings), keep_alive)


class _Conn(asyncio.Protocol):
    """One keep-alive connection to a replica, at most one request at a time."""

    def __init__(self, max_answer: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.keep_alive = False
        self._max_answer = max_answer
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._chunks: ChunkedDecoder | None = None
        self._body: list[bytes] = []
        self._waiter: asyncio.Future[Answer] | None = None
        self._has_body = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted
            return
        self._buffer += data
        try:
            self._advance()
        except (BadAnswer, ChunkError, BodyTooLarge) as exc:
            waiter.set_exception(exc if isinstance(exc, BadAnswer) else BadAnswer(str(exc)))

    def eof_received(self) -> bool | None:
        return False  # close: a replica never half-closes to keep answering

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        head = self._head
        if head is not None and head.length is None and not head.chunked:  # read to the close
            body = b"".join(self._body) + bytes(self._buffer)
            waiter.set_result(Answer(head.status, head.headers, body))
            return
        waiter.set_exception(_Closed(exc))

    def request(self, data: bytes, *, has_body: bool = True) -> asyncio.Future[Answer]:
        """Send one request; the future resolves with its whole answer."""
        assert self.transport is not None
        self._buffer.clear()
        self._head, self._chunks, self._body = None, None, []
        self._has_body = has_body
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        if self.closed or self.transport.is_closing():  # gone before its loss was delivered
            waiter.set_exception(_Unsent())
            return waiter
        try:
            self.transport.write(data)
        except RuntimeError:  # uvloop: the handle closed under us; nothing left this process
            self.close()
            waiter.set_exception(_Unsent())
            return waiter
        if self.transport.is_closing() and not waiter.done():  # the write failed at once
            waiter.set_exception(_Unsent())
        return waiter

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
                if len(buf) > MAX_HEAD:
                    raise BadAnswer(f"answer head larger than {MAX_HEAD} bytes")
                return
            head = _parse_head(bytes(buf[:end]), self._has_body)
            del buf[: end + 4]
            if 100 <= head.status < 200:  # an interim answer: the real one follows
                head = None
        self._head = head
        if head.chunked:
            if self._chunks is None:
                self._chunks = ChunkedDecoder(self._max_answer)
            self._body += self._chunks.feed(buf)
            if not self._chunks.done:
                return
        elif head.length is not None:
            if head.length > self._max_answer:
                raise BadAnswer(f"answer body larger than {self._max_answer} bytes")
            if len(buf) < head.length:
                return
            self._body = [bytes(buf[: head.length])]
        else:  # the body ends when the replica closes the connection
            if len(buf) > self._max_answer:
                raise BadAnswer(f"answer body larger than {self._max_answer} bytes")
            return
        self.keep_alive = head.keep_alive
        assert self._waiter is not None
        self._waiter.set_result(Answer(head.status, head.headers, b"".join(self._body)))


class RawUpstream:
    """Pooled keep-alive HTTP/1.1 to replicas (see the module docstring)."""

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float = 5.0,
        keepalive_s: float = 4.0,
        max_idle_per_replica: int = 64,
        max_answer: int = 256 * 1024 * 1024,
        connect: Connect = connect_socket,
    ) -> None:
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._keepalive_s = keepalive_s  # below the replica's 5 s idle close: no reuse races
        self._max_idle = max_idle_per_replica
        self._max_answer = max_answer
        self._connect_with = connect
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
            except _Unsent:  # a kept connection the replica had closed: nothing was sent
                pass
        conn = await self._connect(address)
        try:
            return await self._exchange(conn, address, data, method)
        except _Unsent as exc:
            raise NotSent(f"{address} refused the request at once") from exc

    async def aclose(self) -> None:
        for stack in self._idle.values():
            while stack:
                stack.pop().close()

    def _pop(self, key: Address) -> _Conn | None:
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            alive = conn.transport is not None and not conn.transport.is_closing()
            if now - conn.idle_since < self._keepalive_s and not conn.closed and alive:
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
        connecting = self._connect_with(address, lambda: _Conn(self._max_answer))
        try:
            conn = await asyncio.wait_for(connecting, self._connect_timeout_s)
        except TimeoutError as exc:
            raise NotSent(f"connecting to {address} timed out") from exc
        except OSError as exc:
            raise NotSent(f"{address}: {exc}") from exc
        return cast(_Conn, conn)

    async def _exchange(self, conn: _Conn, key: Address, data: bytes, method: str) -> Answer:
        waiter = conn.request(data, has_body=method != "HEAD")
        timer = asyncio.get_running_loop().call_later(self._timeout_s, _expire, waiter)
        try:
            answer = await waiter
        except BaseException as exc:
            conn.close()  # an answer may still be on its way: never reuse this connection
            if isinstance(exc, TimeoutError):
                raise AnswerTimeout(f"no answer within {self._timeout_s:g} s") from exc
            if isinstance(exc, _Closed):
                raise Lost(f"{key} closed the connection before answering: {exc}") from exc
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
