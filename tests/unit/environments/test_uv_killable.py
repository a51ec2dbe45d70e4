"""Resolutions run on a pool's threads are killed when the server stops (else its exit waits)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from shipyard.environments.uv import Killable

pytestmark = pytest.mark.unit
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_kill_all_ends_a_running_command_and_any_started_later() -> None:
    runs = Killable()
    results: list[subprocess.CompletedProcess[str]] = []
    worker = threading.Thread(
        target=lambda: results.append(runs.run(SLEEPER, env=dict(os.environ), timeout_s=120))
    )
    worker.start()
    while worker.is_alive() and not runs.running:  # bounded by the worker's own life
        worker.join(0.01)
    runs.kill_all()
    worker.join(30)
    assert not worker.is_alive()
    assert results[0].returncode == -signal.SIGKILL
    later = runs.run(SLEEPER, env=dict(os.environ), timeout_s=120)
    assert later.returncode == -signal.SIGKILL


def test_a_command_gets_its_output_and_a_timeout_still_raises() -> None:
    runs = Killable()
    done = runs.run(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
        env=dict(os.environ),
        timeout_s=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")
    with pytest.raises(subprocess.TimeoutExpired):
        runs.run(SLEEPER, env=dict(os.environ), timeout_s=0.2)
    assert runs.running == 0
