from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from shipyard.gateway.sync import RouteSync
from shipyard.wire.routes import RoutingTable

pytestmark = pytest.mark.unit


def table(version: int) -> dict[str, object]:
    return {"version": version, "keys": {"h": "p"}, "deployments": []}


class FakeSleep:
    """Records delays; cancels the loop after ``limit`` sleeps."""

    def __init__(self, limit: int) -> None:
        self.delays: list[float] = []
        self.limit = limit

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) >= self.limit:
            raise asyncio.CancelledError


def make_sync(handler, sleep=None, applied=None) -> tuple[RouteSync, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    sync = RouteSync(
        client,
        control_url="http://control/",
        token="tok",
        wait_s=10.0,
        on_table=applied.append if applied is not None else None,
        sleep=sleep or FakeSleep(1000),
    )
    return sync, client


async def test_first_poll_does_not_wait_and_later_ones_report_the_applied_version():
    seen: list[httpx.Request] = []
    versions = iter([3, 3, 4])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=table(next(versions)))

    applied: list[RoutingTable] = []
    sync, client = make_sync(handler, applied=applied)
    async with client:
        assert sync.table is None
        assert await sync.poll_once() is True
        assert await sync.poll_once() is False
        assert await sync.poll_once() is True
    assert sync.table is not None
    assert sync.table.version == 4
    assert [t.version for t in applied] == [3, 4]
    assert [dict(r.url.params) for r in seen] == [
        {"after": "0", "wait": "0", "gateway": "0"},
        {"after": "3", "wait": "10", "gateway": "0"},
        {"after": "3", "wait": "10", "gateway": "0"},
    ]
    assert all(r.url.path == "/internal/routes" for r in seen)
    assert all(r.headers["authorization"] == "Bearer tok" for r in seen)


async def test_a_lower_version_from_a_restarted_control_plane_is_applied():
    versions = iter([9, 1])
    sync, client = make_sync(lambda r: httpx.Response(200, json=table(next(versions))))
    async with client:
        await sync.poll_once()
        assert await sync.poll_once() is True
    assert sync.table is not None
    assert sync.table.version == 1


async def test_errors_back_off_bounded_and_keep_the_last_good_table():
    answers = iter(
        [httpx.Response(200, json=table(1))]
        + [httpx.Response(500, text="boom")] * 3
        + [httpx.Response(200, content=b"not json")]
        + [httpx.Response(200, json={"nope": 1})]
        + [httpx.Response(401, json={"error": "bad token"})]
        + [httpx.Response(200, json=table(2))]
        + [httpx.Response(200, json=table(2))]
    )

    held: list[int | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        held.append(sync.table.version if sync.table is not None else None)
        return next(answers)

    sleep = FakeSleep(limit=7)
    sync, client = make_sync(handler, sleep=sleep)
    async with client:
        with pytest.raises(asyncio.CancelledError):
            await sync.run()
    assert held == [None, 1, 1, 1, 1, 1, 1, 1, 2]  # the last good table is kept meanwhile
    assert sleep.delays == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 0.2]
    assert sync.table is not None
    assert sync.table.version == 2


async def test_connection_errors_never_end_the_loop():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sleep = FakeSleep(limit=20)
    sync, client = make_sync(handler, sleep=sleep)
    async with client:
        with pytest.raises(asyncio.CancelledError):
            await sync.run()
    assert len(sleep.delays) == 20
    assert max(sleep.delays) == 2.0
    assert sync.table is None


async def test_run_stops_on_cancel_while_waiting_for_the_control_plane():
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(60)
        return httpx.Response(200, content=json.dumps(table(1)).encode())

    sync, client = make_sync(handler)
    async with client:
        task = asyncio.create_task(sync.run())
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def test_a_table_not_yet_published_is_never_applied():
    versions = iter([0, 0, 5, 0])
    sync, client = make_sync(lambda r: httpx.Response(200, json=table(next(versions))))
    async with client:
        assert await sync.poll_once() is False
        assert await sync.poll_once() is False
        assert sync.table is None  # the gateway stays not ready on an empty, unpublished table
        assert await sync.poll_once() is True
        assert await sync.poll_once() is False  # a restarting control plane: keep serving
    assert sync.table is not None and sync.table.version == 5


async def test_after_losing_the_control_plane_the_next_table_is_taken_whatever_its_number():
    seen: list[httpx.Request] = []
    answers = iter(
        [httpx.Response(200, json=table(4))]
        + [httpx.Response(503, text="down")] * 2
        + [httpx.Response(200, json=table(0))]  # back, not published yet
        + [httpx.Response(200, json={**table(4), "keys": {"h2": "p"}})]  # its own version 4
        + [httpx.Response(200, json=table(4))]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    sleep = FakeSleep(limit=4)
    sync, client = make_sync(handler, sleep=sleep)
    async with client:
        with pytest.raises(asyncio.CancelledError):
            await sync.run()
    assert [r.url.params["after"] for r in seen] == ["0", "4", "0", "0", "0", "4"]
    assert sync.table is not None and dict(sync.table.keys) == {"h2": "p"}
