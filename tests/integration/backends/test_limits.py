"""Real limits on real child processes: cgroups of this host, then the best-effort fallback.

The cgroup tests need root and a usable hierarchy (they skip with the reason otherwise); the
best-effort tests run anywhere on Linux. Every child is killed and every cgroup removed.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shipyard.backends.limits import Enforcement, Enforcer, detect_enforcer
from shipyard.backends.limits.modes import BestEffortEnforcement, CgroupEnforcement
from shipyard.spec.resources import Resources

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
REQUESTS = Resources(cores=0.25, memory=64)
MEMORY_HOG = """
import time
chunks = []
for _ in range(20):  # ~400 MB in 20 MB chunks, every page touched
    chunk = bytearray(20 * 1024 * 1024)
    for offset in range(0, len(chunk), 4096):
        chunk[offset] = 1
    chunks.append(chunk)
    time.sleep(0.05)
time.sleep(10)
"""
BUSY_LOOP = """
import time
end = time.monotonic() + 20
while time.monotonic() < end:
    pass
"""


@pytest.fixture
def cgroup_enforcer() -> Iterator[Enforcer]:
    if os.geteuid() != 0:
        pytest.skip("cgroup limits need root")
    enforcer = detect_enforcer()
    if enforcer.hierarchy is None:
        pytest.skip(f"no usable cgroup hierarchy: {enforcer.note}")
    yield enforcer
    enforcer.close()


@pytest.fixture
def best_effort_enforcer() -> Iterator[Enforcer]:
    enforcer = detect_enforcer(force_best_effort=True)
    yield enforcer
    enforcer.close()


@contextmanager
def replica(enforcement: Enforcement, code: str) -> Iterator[subprocess.Popen[bytes]]:
    """A child under ``enforcement``, killed, reaped and released on the way out."""
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **enforcement.env()},
        preexec_fn=enforcement.preexec,
        start_new_session=True,
    )
    enforcement.started(child.pid)
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=5)


def prepare(enforcer: Enforcer, limits: Resources) -> Enforcement:
    return enforcer.prepare(f"it-{uuid.uuid4().hex[:8]}", REQUESTS, limits)


def assert_oom_killed(enforcement: Enforcement, child: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    returncode = child.wait(timeout=10)
    elapsed = time.monotonic() - started
    assert returncode == -signal.SIGKILL
    reason = enforcement.exit_reason(returncode)
    assert reason is not None
    assert reason[0] == "OOMKilled"
    assert reason[1].startswith("memory limit 200 MiB exceeded (peak ")
    assert reason[1].endswith("MiB): raise limits.memory")
    return elapsed


def cpu_ratio(enforcement: Enforcement, window_s: float = 3.0) -> float:
    time.sleep(0.5)  # let the interpreter start
    cpu0, wall0 = enforcement.usage().cpu_seconds, time.monotonic()
    time.sleep(window_s)
    cpu1, wall1 = enforcement.usage().cpu_seconds, time.monotonic()
    return (cpu1 - cpu0) / (wall1 - wall0)


def test_cgroup_kills_a_memory_hog_and_says_oomkilled(cgroup_enforcer: Enforcer):
    enforcement = prepare(cgroup_enforcer, Resources(cores=2, memory=200))
    assert isinstance(enforcement, CgroupEnforcement)
    try:
        with replica(enforcement, MEMORY_HOG) as child:
            elapsed = assert_oom_killed(enforcement, child)
        usage = enforcement.usage()
        print(f"cgroup OOM: killed after {elapsed:.2f}s, {usage}")
        assert elapsed < 8
        assert usage.oom_kills >= 1
        assert 150 * MIB <= usage.memory_peak_bytes <= 201 * MIB
    finally:
        enforcement.release()
    assert not any(d.exists() for d in enforcement.cgroups.distinct_dirs())


def test_cgroup_holds_a_busy_loop_to_half_a_core_on_one_cpu(cgroup_enforcer: Enforcer):
    enforcement = prepare(cgroup_enforcer, Resources(cores=0.5, memory=200))
    assert isinstance(enforcement, CgroupEnforcement)
    ours = os.sched_getaffinity(0)
    try:
        with replica(enforcement, BUSY_LOOP) as child:
            membership = Path(f"/proc/{child.pid}/cgroup").read_text()
            pinned = os.sched_getaffinity(child.pid)
            ratio = cpu_ratio(enforcement)
        print(f"cgroup CPU: {ratio:.3f} cores used under a 0.5-core limit, on CPUs {pinned}")
        assert f"/shipyard/{enforcement.replica_id}" in membership
        assert 0.35 <= ratio <= 0.65
        assert pinned == (set(enforcement.cpus) if len(ours) > 1 else ours)
        assert len(pinned) == 1
    finally:
        enforcement.release()
    assert not any(d.exists() for d in enforcement.cgroups.distinct_dirs())


def test_best_effort_watchdog_kills_a_memory_hog_and_says_oomkilled(
    best_effort_enforcer: Enforcer,
):
    enforcement = prepare(best_effort_enforcer, Resources(cores=2, memory=200))
    assert isinstance(enforcement, BestEffortEnforcement)
    try:
        with replica(enforcement, MEMORY_HOG) as child:
            elapsed = assert_oom_killed(enforcement, child)
        usage = enforcement.usage()
        print(f"best-effort OOM: killed after {elapsed:.2f}s, {usage}")
        assert elapsed < 8
        assert usage.memory_peak_bytes > 200 * MIB
    finally:
        enforcement.release()
    assert enforcement.watchdog is not None
    assert enforcement.watchdog.killed


@pytest.mark.parametrize("cores", [0.5, 1.5])
def test_best_effort_pins_the_child_to_the_cores_of_its_limit(
    best_effort_enforcer: Enforcer, cores: float
):
    enforcement = prepare(best_effort_enforcer, Resources(cores=cores, memory=200))
    assert isinstance(enforcement, BestEffortEnforcement)
    expected = min(math.ceil(cores), len(os.sched_getaffinity(0)))
    try:
        with replica(enforcement, BUSY_LOOP) as child:
            time.sleep(0.3)
            pinned = os.sched_getaffinity(child.pid)
            ratio = cpu_ratio(enforcement, window_s=1.0)
        print(f"best-effort CPU: pinned to {sorted(pinned)}, {ratio:.3f} cores used")
        assert pinned == set(enforcement.cpus or os.sched_getaffinity(0))
        assert len(pinned) == expected
        assert ratio <= expected + 0.1
    finally:
        enforcement.release()
