"""The routing-table board: long polls, and which version every gateway applied."""

from __future__ import annotations

import asyncio

import pytest

from shipyard.controller import routes as routes_module
from shipyard.controller.routes import RouteEntry, RoutePublisher

pytestmark = pytest.mark.unit


def entry(name: str) -> RouteEntry:
    return RouteEntry(project_id="p", name=name, state="RUNNING", message="", revision=1)


async def test_a_poll_returns_at_once_when_the_version_differs_and_waits_otherwise() -> None:
    board = RoutePublisher()
    await board.publish([entry("iris")], {})
    assert (await board.wait(0, 5.0))["version"] == 1
    waiting = asyncio.ensure_future(board.wait(1, 5.0))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await board.publish([entry("iris"), entry("wine")], {})
    assert (await asyncio.wait_for(waiting, 1.0))["version"] == 2
    assert (await board.wait(2, 0.01))["version"] == 2  # no change: as is after the wait


async def test_applied_is_the_oldest_version_among_gateways_heard_from_recently() -> None:
    now = [1000.0]
    board = RoutePublisher(clock=lambda: now[0])
    assert not board.gateway_connected() and board.applied == 0
    for _ in range(3):
        await board.publish([entry(f"v{board.version}")], {})
    await board.wait(3, 0, gateway="0")
    await board.wait(2, 0, gateway="1")
    assert board.gateway_connected() and board.applied == 2  # gateway 1 is behind
    await board.wait(3, 0, gateway="1")
    assert board.applied == 3
    await board.wait(7, 0, gateway="1")  # from before a restart of the control plane
    assert board.applied == 0
    now[0] += routes_module.RECENT_S + 1  # gateway 1 went silent; 0 polls again
    await board.wait(3, 0, gateway="0")
    assert board.applied == 3
