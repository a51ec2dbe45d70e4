"""The LOCAL backend's stop: SIGTERM, then SIGKILL after the grace, through its kill function."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipyard.backends import processes
from shipyard.backends.limits import detect_enforcer
from shipyard.backends.local import LocalBackend
from shipyard.backends.protocol import ReplicaRef
from shipyard.spec.capacity import Capacity

pytestmark = pytest.mark.integration


async def test_a_replica_that_ignores_sigterm_gets_sigkill_after_the_grace(tmp_path: Path) -> None:
    script = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\ntime.sleep(60)"
    )
    stubborn = subprocess.Popen(  # ignores SIGTERM, as a wedged replica would
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    assert stubborn.stdout is not None and stubborn.stdout.readline() == b"up\n"
    sent: list[tuple[int, int]] = []

    def kill(pid: int, sig: int) -> None:
        sent.append((pid, sig))
        os.kill(pid, sig)

    backend = LocalBackend(
        run_dir=tmp_path / "run",
        logs_dir=tmp_path / "logs",
        capacity=Capacity(1, 1024, 0),
        enforcer=detect_enforcer(force_best_effort=True),
        kill=kill,
    )
    ref = ReplicaRef(
        replica_id="r-1", deployment_id="d", component="predictor", slot=0, revision=1,
        template="t", url="http://127.0.0.1:1", pid=stubborn.pid, started_at=time.time(),
        extra={"ticks": str(processes.start_ticks(stubborn.pid))},
    )  # fmt: skip
    try:
        exit_ = await backend.stop(ref, grace_s=0.3)
    finally:
        stubborn.kill()
        stubborn.wait()
        stubborn.stdout.close()
        await backend.close()
    assert sent == [(stubborn.pid, signal.SIGTERM), (stubborn.pid, signal.SIGKILL)]
    assert exit_.reason in ("Exited", "Killed")
