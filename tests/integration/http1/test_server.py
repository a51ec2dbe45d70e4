"""The data-path HTTP/1.1 server on a real loopback socket, spoken to byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest

from shipyard.http1 import HttpServer, Request, Response

pytestmark = pytest.mark.integration


async def echo(request: Request) -> Response:
    """Echoes what it parsed; ``/slow`` waits 0.2 s; ``/boom`` raises."""
    if request.path == "/slow":
        await asyncio.sleep(0.2)
    if request.path == "/boom":
        raise RuntimeError("handler bug")
    seen = {
        "method": request.method,
        "target": request.target,
        "path": request.path,
        "query": request.query,
        "body": request.body.decode(),
        "x": (request.header(b"x-test") or b"").decode(),
    }
    return Response(200, json.dumps(seen).encode(), headers=[(b"x-answer", b"yes")])


@contextlib.asynccontextmanager
async def running(**options: float) -> AsyncIterator[HttpServer]:
    server = HttpServer(echo, **options)  # type: ignore[arg-type]
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.shutdown(2.0)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def connect(server: HttpServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def post(target: str, body: bytes, extra: str = "") -> bytes:
    head = f"POST {target} HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def test_keep_alive_answers_in_order_including_pipelined_requests() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        writer.write(post("/a?q=1", b"one", "X-Test: t1\r\n"))
        status, headers, body = await read_answer(reader)
        assert status == 200 and headers["x-answer"] == "yes" and "date" in headers
        assert headers["content-type"] == "application/json"
        seen = json.loads(body)
        assert seen == {
            "method": "POST",
            "target": "/a?q=1",
            "path": "/a",
            "query": "q=1",
            "body": "one",
            "x": "t1",
        }
        # two requests in one write, the first slow: answers still come in order
        writer.write(post("/slow", b"first") + post("/m%20x", b"second"))
        first, second = await read_answer(reader), await read_answer(reader)
        assert json.loads(first[2])["body"] == "first"
        assert json.loads(second[2])["path"] == "/m x"
        await close(writer)


async def test_chunked_bodies_and_expect_continue() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        head = "POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        writer.write(head.encode() + b"4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n")
        assert json.loads((await read_answer(reader))[2])["body"] == "wikipedia"
        writer.write(
            b"POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        assert json.loads((await read_answer(reader))[2])["body"] == "hello"
        await close(writer)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nbad header\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2000\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nx-big: " + b"a" * 5000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n", 501),
    ],
)
async def test_bad_requests_get_a_json_error_and_the_connection_closes(
    raw: bytes, status: int
) -> None:
    async with running(max_body=1000, max_head=4096) as server:
        reader, writer = await connect(server)
        writer.write(raw)
        answer = await read_answer(reader)
        assert answer[0] == status
        assert answer[1]["connection"] == "close"
        assert "error" in json.loads(answer[2])
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        await close(writer)


async def test_a_handler_bug_is_a_500_and_the_connection_lives_on() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        writer.write(post("/boom", b""))
        status, _, body = await read_answer(reader)
        assert (status, json.loads(body)) == (500, {"error": "internal error: RuntimeError"})
        writer.write(post("/ok", b"again"))
        assert (await read_answer(reader))[0] == 200
        await close(writer)


async def test_connection_close_http10_and_head() -> None:
    async with running() as server:
        reader, writer = await connect(server)
        writer.write(b"HEAD /h HTTP/1.1\r\nhost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200") and b"content-length: " in head
        writer.write(post("/last", b"x", "connection: close\r\n"))
        status, headers, _ = await read_answer(reader)
        assert status == 200 and headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""
        await close(writer)
        reader, writer = await connect(server)
        writer.write(b"GET /old HTTP/1.0\r\n\r\n")
        assert (await read_answer(reader))[1]["connection"] == "close"
        await close(writer)


async def test_idle_connections_are_closed_after_keep_alive() -> None:
    async with running(keep_alive_s=0.2) as server:
        reader, writer = await connect(server)
        writer.write(post("/x", b""))
        assert (await read_answer(reader))[0] == 200
        assert await asyncio.wait_for(reader.read(), 5) == b""  # idle: closed by the sweeper
        assert not server.connections
        await close(writer)


async def test_shutdown_finishes_the_answer_in_progress_then_closes() -> None:
    server = HttpServer(echo)
    await server.start("127.0.0.1", 0)
    reader, writer = await connect(server)
    writer.write(post("/slow", b"in flight"))
    await asyncio.sleep(0.05)
    await server.shutdown(5.0)
    status, headers, body = await read_answer(reader)
    assert status == 200 and json.loads(body)["body"] == "in flight"
    assert headers["connection"] == "close"
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
    await close(writer)
