"""Attacking the data path's server over raw loopback sockets, gateway and replica alike.

Both hops run :class:`HttpServer`; the replica with the stdlib parser, the gateway with llhttp and
an admission that checks the key on the head. Every framing trick is refused and the connection
closed (no smuggled request is ever served); oversized and trickled heads and bodies, a million
tiny chunks, unkeyed unfinished bodies and hundreds of idle connections are refused or bounded;
and meanwhile a well-formed request on another connection is still answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from shipyard.gateway.parser import HttptoolsParser
from shipyard.http1 import Head, HttpServer, Request, Response, error_response
from shipyard.http1.parser import StrictParser

pytestmark = pytest.mark.integration

H = b"host: a\r\nauthorization: ApiKey good\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\n" + H + b"\r\n"

FRAMING = [
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"content-length: 4\r\ntransfer-encoding: chunked"
                 b"\r\n\r\n0\r\n\r\n" + SMUGGLED, {400}, id="cl+te"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\ncontent-length: 4"
                 b"\r\n\r\n0\r\n\r\n" + SMUGGLED, {400}, id="te+cl"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"content-length: 0\r\ncontent-length: 41\r\n\r\n"
                 + SMUGGLED, {400}, id="differing-cl"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"content-length: 3\r\ncontent-length: 3\r\n\r\n"
                 b"abc", {400}, id="duplicate-cl"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: xchunked\r\n\r\n0\r\n\r\n",
                 {400, 501}, id="xchunked"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: gzip, chunked\r\n\r\n"
                 b"0\r\n\r\n", {400, 501}, id="gzip-chunked"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n0x2\r\nhi\r\n"
                 b"0\r\n\r\n", {400}, id="size-0x"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n1_0\r\n"
                 + b"x" * 16 + b"\r\n0\r\n\r\n", {400}, id="size-underscore"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n+3\r\nabc\r\n"
                 b"0\r\n\r\n", {400}, id="size-plus"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n3\r\nabcXX"
                 b"0\r\n\r\n", {400}, id="no-crlf-after-data"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"x: a\r\n b\r\n\r\n", {400}, id="obs-fold"),
    pytest.param(b"GET / HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"\n", {400}, id="bare-lf"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"x: a\rb\r\n\r\n", {400}, id="bare-cr"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"x: a\x00b\r\n\r\n", {400}, id="nul"),
    pytest.param(b"GET / HTTP/1.1\r\nauthorization: ApiKey good\r\n\r\n", {400}, id="no-host"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"content-length: -1\r\n\r\n", {400}, id="cl-neg"),
    pytest.param(b"GET / HTTP/2.0\r\n" + H + b"\r\n", {505}, id="http2-line"),
    pytest.param(b"GET / HTTP/1.1\r\n" + H + b"x-big: " + b"a" * 70_000 + b"\r\n\r\n", {431},
                 id="head-too-large"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"content-length: 2000000\r\n\r\n", {413},
                 id="cl-too-large"),
    pytest.param(b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n"
                 + b"10000\r\n" + b"x" * 65536 + b"\r\n" + b"F0000\r\n" + b"x" * 0xF0000, {413},
                 id="chunks-too-large"),
]  # fmt: skip


async def echo(request: Request) -> Response:
    return Response(200, json.dumps({"path": request.path, "size": len(request.body)}).encode())


def admit_key(head: Head) -> Response | int | None:
    """The gateway's rule: no valid key, no body read."""
    if head.header(b"authorization") != b"ApiKey good":
        return error_response(401, "missing or invalid API key")
    return None


class Target:
    """A server under attack and what it served."""

    def __init__(self, kind: str, **options: float) -> None:
        self.served: list[str] = []

        async def record(request: Request) -> Response:
            self.served.append(request.path)
            return await echo(request)

        extra: dict[str, object] = {"parser": StrictParser}
        if kind == "gateway":
            extra = {"parser": HttptoolsParser, "admit": admit_key}
        self.server = HttpServer(record, max_body=1_000_000, **extra, **options)  # type: ignore[arg-type]

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.server.port)

    async def well_formed(self) -> int:
        """A normal request on a new connection: its status."""
        reader, writer = await self.connect()
        writer.write(b"POST /ok HTTP/1.1\r\n" + H + b"content-length: 2\r\n\r\nhi")
        status = (await read_answer(reader))[0]
        writer.close()
        return status


@contextlib.asynccontextmanager
async def target(kind: str, **options: float) -> AsyncIterator[Target]:
    attacked = Target(kind, **options)
    await attacked.server.start("127.0.0.1", 0)
    try:
        yield attacked
    finally:
        await attacked.server.shutdown(2.0)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), headers, body


async def closed(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(ConnectionError):
        return await asyncio.wait_for(reader.read(), 10) == b""
    return True


KINDS = ["replica", "gateway"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("raw", "statuses"), FRAMING)
async def test_ambiguous_or_oversized_framing_is_refused_and_the_connection_closed(
    kind: str, raw: bytes, statuses: set[int]
) -> None:
    async with target(kind, max_head=64 * 1024) as attacked:
        reader, writer = await attacked.connect()
        writer.write(raw)
        status, headers, body = await read_answer(reader)
        assert status in statuses, body
        assert headers["connection"] == "close" and "error" in json.loads(body)
        assert await closed(reader)
        writer.close()
        assert "/smuggled" not in attacked.served and attacked.served == []
        assert await attacked.well_formed() == 200


async def trickle(writer: asyncio.StreamWriter, data: bytes, stop: asyncio.Event) -> None:
    """Write ``data`` a byte every 20 ms until told to stop or the server hangs up."""
    for byte in data:
        if stop.is_set() or writer.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            writer.write(bytes([byte]))
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_trickled_head_and_a_trickled_body_are_cut_off(kind: str) -> None:
    async with target(kind, head_timeout_s=0.5, min_body_rate=10_000) as attacked:
        head_reader, head_writer = await attacked.connect()
        body_reader, body_writer = await attacked.connect()
        body_writer.write(b"POST / HTTP/1.1\r\n" + H + b"content-length: 100000\r\n\r\n")
        stop = asyncio.Event()
        tricklers = [
            asyncio.create_task(trickle(head_writer, b"GET / HTTP/1.1\r\n" + H * 20, stop)),
            asyncio.create_task(trickle(body_writer, b"x" * 1000, stop)),
        ]
        assert await attacked.well_formed() == 200  # served meanwhile
        assert (await read_answer(head_reader))[0] == 408
        assert (await read_answer(body_reader))[0] == 408
        assert await closed(head_reader) and await closed(body_reader)
        stop.set()
        await asyncio.gather(*tricklers)
        head_writer.close()
        body_writer.close()
        assert attacked.served == ["/ok"]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_million_tiny_chunks_are_decoded_in_linear_time(kind: str) -> None:
    async with target(kind) as attacked:
        reader, writer = await attacked.connect()
        chunks = b"1\r\nx\r\n" * 1_000_000
        writer.write(b"POST /many HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n")
        for at in range(0, len(chunks), 1 << 16):
            writer.write(chunks[at : at + (1 << 16)])
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        status, _, body = await asyncio.wait_for(read_answer(reader), 60)
        assert (status, json.loads(body)) == (200, {"path": "/many", "size": 1_000_000})
        writer.close()


async def test_the_gateway_refuses_an_unkeyed_body_before_reading_it() -> None:
    async with target("gateway") as attacked:
        readers = []
        for _ in range(3):
            reader, writer = await attacked.connect()
            writer.write(
                b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 900000\r\n\r\n" + b"x" * 100
            )
            readers.append((reader, writer))
        for reader, writer in readers:
            status, headers, _ = await read_answer(reader)  # answered before the body came
            assert (status, headers["connection"]) == (401, "close")
            assert await closed(reader)
            writer.close()
        assert attacked.served == []
        assert await attacked.well_formed() == 200


@pytest.mark.parametrize("kind", KINDS)
async def test_hundreds_of_idle_connections_are_bounded_and_others_still_served(kind) -> None:
    async with target(kind, max_connections=300) as attacked:
        idle = [await attacked.connect() for _ in range(299)]
        assert await attacked.well_formed() == 200  # the 300th still gets in
        over = [await attacked.connect() for _ in range(200)]
        reader = over[0][0]
        status, headers, _ = await read_answer(reader)
        assert (status, headers["retry-after"]) == (503, "1")
        assert await closed(reader)
        for _, w in idle + over:
            w.close()
        for _ in range(100):  # the server notices the closes; then it accepts again
            if len(attacked.server.connections) < 10:
                break
            await asyncio.sleep(0.02)
        assert await attacked.well_formed() == 200
