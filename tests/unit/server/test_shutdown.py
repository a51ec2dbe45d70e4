"""The server's stop request: hooks run once, at once or when registered late; the last-resort
bound logs why, runs the overrun hooks and ends the process with its own exit code."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from shipyard.server.shutdown import OVERRUN_EXIT, Shutdown

pytestmark = pytest.mark.unit


class Exits:
    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def test_the_stop_hooks_run_once_and_a_late_one_at_once(tmp_path: Path) -> None:
    exits = Exits()
    shutdown = Shutdown(60.0, exit_now=exits)
    calls: list[str] = []
    shutdown.on_stop(lambda: calls.append("api"))
    assert not shutdown.requested and calls == []
    shutdown.request("signal SIGINT")
    shutdown.request("signal SIGTERM")  # a second signal changes nothing
    shutdown.on_stop(lambda: calls.append("routes"))  # registered after the request
    assert shutdown.requested
    assert calls == ["api", "routes"]
    shutdown.finished.set()
    assert exits.codes == []


def test_a_failing_hook_does_not_keep_the_others_from_running() -> None:
    shutdown = Shutdown(60.0, exit_now=Exits())
    calls: list[str] = []
    shutdown.on_stop(lambda: 1 / 0)
    shutdown.on_stop(lambda: calls.append("second"))
    shutdown.request("test")
    shutdown.finished.set()
    assert calls == ["second"]


def test_an_overrun_logs_why_kills_what_it_must_and_exits_with_its_code(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exits = Exits()
    with (tmp_path / "stacks").open("w+") as stacks:
        shutdown = Shutdown(0.05, exit_now=exits, stacks=stacks)
        killed: list[str] = []
        shutdown.on_overrun(lambda: killed.append("gateway"))
        with caplog.at_level(logging.ERROR, logger="shipyard.server"):
            shutdown.request("signal SIGINT")
            assert exits.called.wait(10.0)
        stacks.seek(0)
        dumped = stacks.read()
    assert exits.codes == [OVERRUN_EXIT]
    assert killed == ["gateway"]
    assert "did not stop within 0 s of its stop request (signal SIGINT)" in caplog.text
    assert "test_an_overrun_logs_why" in dumped  # every thread's stack, this one's included


def test_no_overrun_when_the_process_finishes_in_time() -> None:
    exits = Exits()
    shutdown = Shutdown(0.2, exit_now=exits)
    shutdown.request("test")
    shutdown.finished.set()
    assert not exits.called.wait(0.5)


def test_arming_alone_bounds_an_end_no_request_began_and_runs_no_stop_hook() -> None:
    exits = Exits()
    shutdown = Shutdown(0.05, exit_now=exits)
    calls: list[str] = []
    shutdown.on_stop(lambda: calls.append("api"))
    shutdown.arm("the server is exiting")
    shutdown.arm("again")  # one bound only
    assert exits.called.wait(10.0)
    assert exits.codes == [OVERRUN_EXIT]
    assert calls == [] and not shutdown.requested
