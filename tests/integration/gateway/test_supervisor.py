"""The gateway supervisor with stand-in workers: it records itself, replaces a worker that
dies at once, and stops its workers (and removes its record) when told to."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from shipyard.gateway.supervisor import PARENT_ENV, Supervisor, describe

pytestmark = pytest.mark.integration

WORKER = [sys.executable, "-c", "import time; time.sleep(60)"]


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def test_the_supervisor_records_replaces_and_stops_its_workers(tmp_path: Path) -> None:
    env = {**os.environ, "SHIPYARD_GATEWAY_WORKERS": "2", "SHIPYARD_INTERNAL_TOKEN": "t"}
    record = tmp_path / "gateway.json"
    supervisor = Supervisor(env, record, command=WORKER)
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        wait_for(record.exists)
        assert json.loads(record.read_text()) == {"pid": os.getpid(), "config": describe(env)}
        first, second = wait_for(lambda: len(supervisor.workers) == 2 and supervisor.workers)
        os.kill(first, signal.SIGKILL)
        replaced = wait_for(lambda: first not in supervisor.workers and supervisor.workers)
        assert second in replaced and len(replaced) == 2
    finally:
        supervisor.stop()
        thread.join(30)
    assert not record.exists()
    assert not any(alive(pid) for pid in replaced)


def test_the_configuration_digest_ignores_what_does_not_make_a_gateway_differ() -> None:
    base = {"SHIPYARD_GATEWAY_PORT": "1", "SHIPYARD_INTERNAL_TOKEN": "t"}
    assert describe(base) == describe({**base, "PATH": "/elsewhere", PARENT_ENV: "9"})
    assert describe(base) != describe({**base, "SHIPYARD_GATEWAY_PORT": "2"})
    assert describe(base) != describe({**base, "SHIPYARD_INTERNAL_TOKEN": "other"})
