"""The gateway supervisor with stand-in workers: it records itself, replaces a worker that
dies at once, and stops its workers (and removes its record) when told to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shipyard.gateway.supervisor import PARENT_ENV, Supervisor, describe
from shipyard.server import adopt_or_retire_gateway, gateway_env, internal_token, prepare_home
from shipyard.settings import ServerSettings

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


def stand_in_supervisor() -> subprocess.Popen[bytes]:
    """A process that looks like a gateway supervisor to the server (by its command line)."""
    command = [sys.executable, "-c", "import time; time.sleep(60)", "shipyard.gateway.supervisor"]
    return subprocess.Popen(command)


async def test_the_server_adopts_a_same_gateway_and_retires_another(tmp_path: Path) -> None:
    settings = ServerSettings(home=tmp_path / "home")
    prepare_home(settings)
    env = gateway_env(settings, internal_token(settings))
    record = settings.run_dir / "gateway.json"
    same, other = stand_in_supervisor(), stand_in_supervisor()
    try:
        record.write_text(json.dumps({"pid": same.pid, "config": describe(env)}))
        adopted = await adopt_or_retire_gateway(settings, env)
        assert adopted is not None and adopted.pid == same.pid and same.poll() is None
        record.write_text(json.dumps({"pid": other.pid, "config": "from another version"}))
        assert await adopt_or_retire_gateway(settings, env) is None
        assert other.wait(timeout=10) == -signal.SIGTERM  # retired: its settings differ
        record.write_text(json.dumps({"pid": other.pid, "config": describe(env)}))
        assert await adopt_or_retire_gateway(settings, env) is None  # gone: nothing to adopt
        assert internal_token(settings) == env["SHIPYARD_INTERNAL_TOKEN"]  # kept across starts
    finally:
        for proc in (same, other):
            proc.kill()
            proc.wait()
