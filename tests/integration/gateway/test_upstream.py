"""The gateway's own HTTP/1.1 client against tiny real servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from shipyard.gateway.upstream import AnswerTimeout, BadAnswer, Lost, NotSent, RawUpstream
from shipyard.wire.addresses import unix_url

pytestmark = pytest.mark.integration

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def server(
    handler: Handler, unix: Path | None = None
) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server (TCP, or on the Unix socket ``unix``); yields its base URL and a list
    counting connections."""
    connections: list[int] = []
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writers.append(writer)
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await handler(reader, writer)
        finally:
            writer.close()

    if unix is None:
        srv = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    else:
        srv = await asyncio.start_unix_server(serve, str(unix))
        url = unix_url(str(unix))
    try:
        async with srv:
            yield url, connections
    finally:
        for writer in writers:
            writer.close()
        await asyncio.sleep(0)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        body = await read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\n")
        writer.write(b"content-length: %d\r\nx-extra: yes\r\n\r\n" % len(body) + body)
        await writer.drain()


async def test_answers_come_back_whole_over_one_kept_alive_connection() -> None:
    client = RawUpstream(timeout_s=5)
    async with server(echo_forever) as (url, connections):
        for i in range(5):
            answer = await client.send(f"{url}/v1/x?a=1", "POST", [(b"x-a", b"b")], b"hi%d" % i)
            assert (answer.status, answer.content) == (201, b"hi%d" % i)
            assert (b"x-extra", b"yes") in answer.headers
        assert len(connections) == 1
    await client.aclose()


async def test_a_unix_socket_replica_is_reached_with_its_target_and_a_kept_connection(
    tmp_path: Path,
) -> None:
    heads: list[bytes] = []

    async def echo_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()

    client = RawUpstream(timeout_s=5)
    async with server(echo_head, unix=tmp_path / "r 1.sock") as (url, connections):
        assert url.startswith("http+unix://%2F")
        for _ in range(3):
            answer = await client.send(f"{url}/v2/models/m/infer?x=1", "GET", [], b"")
            assert (answer.status, answer.content) == (200, b"ok")
        assert len(connections) == 1
    assert heads[0].startswith(b"GET /v2/models/m/infer?x=1 HTTP/1.1\r\nhost: localhost\r\n")
    with pytest.raises(NotSent):  # gone: refused, like a closed port (retryable)
        await client.send(f"{url}/v1/x", "GET", [], b"")
    await client.aclose()


async def test_chunked_answers_and_connection_close() -> None:
    async def chunked_then_close(reader, writer) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n")
        writer.write(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        await writer.drain()

    client = RawUpstream(timeout_s=5)
    async with server(chunked_then_close) as (url, connections):
        assert (await client.send(url + "/", "POST", [], b"")).content == b"abcde"
        assert (await client.send(url + "/", "POST", [], b"")).content == b"abcde"
        assert len(connections) == 2  # "connection: close" is honoured
    await client.aclose()


async def test_a_connection_the_replica_closed_while_idle_is_replaced_transparently() -> None:
    async def one_answer_then_close(reader, writer) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()  # ... then the server closes without saying so

    client = RawUpstream(timeout_s=5)
    async with server(one_answer_then_close) as (url, connections):
        assert (await client.send(url + "/", "POST", [], b"1")).content == b"ok"
        await asyncio.sleep(0.05)
        assert (await client.send(url + "/", "POST", [], b"2")).content == b"ok"
        assert len(connections) == 2
    await client.aclose()


async def test_refused_reset_and_slow_replicas_raise_the_forwarders_error_kinds() -> None:
    client = RawUpstream(timeout_s=0.3)
    async with server(echo_forever) as (url, _):
        pass  # closed: nothing listens on that port any more
    with pytest.raises(NotSent):
        await client.send(url + "/", "POST", [], b"")

    async def reset(reader, writer) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")  # then gone

    async with server(reset) as (url, _):
        with pytest.raises(Lost):
            await client.send(url + "/", "POST", [], b"")

    async def silent(reader, writer) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with server(silent) as (url, _):
        with pytest.raises(AnswerTimeout):
            await client.send(url + "/", "POST", [], b"")
    await client.aclose()


async def test_interim_answers_are_skipped_and_a_body_may_end_with_the_connection() -> None:
    async def interim_then_until_close(reader, writer) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the ")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"end")
        await writer.drain()  # the server then closes: that ends the body

    client = RawUpstream(timeout_s=5)
    async with server(interim_then_until_close) as (url, connections):
        answer = await client.send(url + "/", "POST", [], b"x")
        assert (answer.status, answer.content) == (200, b"until the end")
        assert (await client.send(url + "/", "POST", [], b"y")).content == b"until the end"
        assert len(connections) == 2  # such a connection is never reused
    await client.aclose()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "invalid content-length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 0x10\r\n\r\n", "invalid content-length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab", "content-length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n", "larger than 1024"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"401\r\n" + b"x" * 1025,
         "larger than 1024"),
        (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1100, "larger than 1024"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
         "ambiguous framing"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", "ambiguous framing"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x3\r\nabc\r\n",
         "hex digits only"),
        (b"HTTP/1.1 200 OK\r\nx-a: 1\x00\r\ncontent-length: 0\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\n" + b"x-a: b\r\n" * 20000, "head larger"),
        (b"SPDY/3 200 OK\r\n\r\n", "status line"),
    ],
)  # fmt: skip
async def test_bad_or_oversized_answers_are_refused(answer: bytes, message: str) -> None:
    async def bad(reader, writer) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        await asyncio.sleep(1)

    client = RawUpstream(timeout_s=3, max_answer=1024)
    async with server(bad) as (url, _):
        with pytest.raises(BadAnswer, match=message):
            await client.send(url + "/", "POST", [], b"")
    await client.aclose()
