"""The routing-table board: long polls, and which version every gateway applied."""

from __future__ import annotations

import asyncio

import pytest

from shipyard.controller import routes as routes_module
from shipyard.controller.routes import RoutePublisher, input_specs
from shipyard.wire.routes import DeploymentRoute, TensorSpec, parse_table

pytestmark = pytest.mark.unit


def entry(name: str) -> DeploymentRoute:
    return DeploymentRoute(project_id="p", name=name, state="RUNNING", message="", revision=1)


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


async def test_a_release_answers_the_open_long_polls_at_once_and_the_later_ones_too() -> None:
    board = RoutePublisher()
    await board.publish([entry("iris")], {})
    polls = [asyncio.ensure_future(board.wait(1, 60.0, gateway=str(n))) for n in range(2)]
    await asyncio.sleep(0.01)
    assert not any(poll.done() for poll in polls)
    board.release()  # the server stops: its API's drain must not wait a minute for them
    answers = await asyncio.wait_for(asyncio.gather(*polls), 1.0)
    assert [answer["version"] for answer in answers] == [1, 1]
    assert (await asyncio.wait_for(board.wait(1, 60.0), 1.0))["version"] == 1


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


async def test_the_table_is_what_the_gateway_parses_with_this_runs_epoch() -> None:
    board = RoutePublisher()
    route = DeploymentRoute(
        project_id="p", name="iris", state="RUNNING", predictor=("http://a",),
        max_latency_s=0.005, model_version="4", inputs=input_specs([[1.0, 2.5]]),
    )  # fmt: skip
    await board.publish([route], {"h": "p"})
    table = parse_table(await board.wait(0, 0))
    assert table.route("p", "iris") == route and table.epoch == board.epoch
    assert RoutePublisher().epoch != board.epoch


def test_v2_inputs_come_from_the_input_example() -> None:
    assert input_specs([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]) == (
        TensorSpec("input-0", "FP64", (-1, 4)),
    )
    assert input_specs([1, 2, 3]) == (TensorSpec("input-0", "INT64", (-1, 3)),)
    assert input_specs({"text": ["hi"], "n": [1]}) == (
        TensorSpec("text", "BYTES", (-1,)),
        TensorSpec("n", "INT64", (-1,)),
    )
    assert input_specs(None) == () and input_specs([]) == ()
