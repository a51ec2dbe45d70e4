"""Choosing the enforcement mode and what each mode tells the LOCAL backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backends.gpus import GpuInventory, InsufficientGpus
from shipyard.backends.limits.cgroups import BASE_DIR
from shipyard.backends.limits.enforcement import Enforcer, detect_enforcer
from shipyard.backends.limits.modes import BestEffortEnforcement, CgroupEnforcement
from shipyard.backends.limits.watchdog import MemoryWatchdog
from shipyard.spec.resources import Resources
from tests.unit.backends.conftest import FakeHost

pytestmark = pytest.mark.unit

MIB = 1024 * 1024
REQUESTS = Resources(cores=0.25, memory=64)
LIMITS = Resources(cores=1.5, memory=200)


def enforcer(host: FakeHost, gpus: list[str] | None = None) -> Enforcer:
    return Enforcer(host.hierarchy, gpus=GpuInventory(gpus or []), cpus=[0, 1, 2, 3])


def test_cgroup_mode_gives_env_with_threads_and_gpus(v1_host: FakeHost):
    enforcement = enforcer(v1_host, ["0", "1"]).prepare(
        "r1", REQUESTS, Resources(cores=1.5, memory=200, gpus=1)
    )
    assert isinstance(enforcement, CgroupEnforcement)
    assert enforcement.mode == "cgroup-v1"
    env = enforcement.env()
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"
    assert env["CUDA_VISIBLE_DEVICES"] == "0"


def test_a_replica_without_gpus_sees_none(v1_host: FakeHost):
    enforcement = enforcer(v1_host, ["0"]).prepare("r1", REQUESTS, LIMITS)
    assert enforcement.env()["CUDA_VISIBLE_DEVICES"] == ""


def test_insufficient_gpus_fail_before_any_cgroup_is_made(v1_host: FakeHost):
    limits = Resources(cores=1, memory=200, gpus=2)
    with pytest.raises(InsufficientGpus, match="requested 2, 1 free of 1"):
        enforcer(v1_host, ["0"]).prepare("r1", REQUESTS, limits)
    assert not (v1_host.own("memory") / BASE_DIR / "r1").exists()


def test_release_frees_the_gpus_for_the_next_replica():
    node = Enforcer(None, why="test", gpus=GpuInventory(["0"]), cpus=[0])
    limits = Resources(cores=1, memory=200, gpus=1)
    node.prepare("r1", REQUESTS, limits).release()
    assert node.prepare("r2", REQUESTS, limits).gpus == ["0"]


def oom_enforcement(host: FakeHost) -> CgroupEnforcement:
    enforcement = enforcer(host).prepare("r1", REQUESTS, Resources(cores=0.5, memory=200))
    assert isinstance(enforcement, CgroupEnforcement)
    return enforcement


def test_v1_oom_kill_is_reported_with_limit_and_peak(v1_host: FakeHost):
    enforcement = oom_enforcement(v1_host)
    memory = enforcement.cgroups.dirs["memory"]
    (memory / "memory.max_usage_in_bytes").write_text(f"{212 * MIB}\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert enforcement.exit_reason(-9) is None
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    assert enforcement.exit_reason(-9) == (
        "OOMKilled",
        "memory limit 200 MiB exceeded (peak 212 MiB): raise limits.memory",
    )


def test_v2_oom_kill_is_reported_from_memory_events(v2_host: FakeHost):
    enforcement = oom_enforcement(v2_host)
    directory = enforcement.cgroups.dirs["memory"]
    (directory / "memory.peak").write_text(f"{200 * MIB}\n")
    (directory / "memory.events").write_text("max 12\noom 1\noom_kill 1\n")
    reason = enforcement.exit_reason(None)
    assert reason is not None
    assert reason[0] == "OOMKilled"
    assert "memory limit 200 MiB exceeded (peak 200 MiB)" in reason[1]


def test_a_cgroup_that_cannot_be_made_falls_back_to_best_effort(v1_host: FakeHost):
    memory_base = v1_host.own("memory") / BASE_DIR
    memory_base.write_text("not a directory")
    enforcement = enforcer(v1_host).prepare("r1", REQUESTS, LIMITS)
    assert enforcement.mode == "best-effort"
    assert enforcement.note.startswith("enforcement is best-effort: cannot prepare")
    assert "memory watched every 0.25 s, CPU limited by affinity only: pinned to CPU 0,1" in (
        enforcement.note
    )


def test_detect_enforcer_on_a_v1_host_prepares_the_base_cgroups(v1_host: FakeHost):
    node = detect_enforcer(proc=v1_host.proc, root=v1_host.root, cpus=[0, 1])
    assert node.mode == "cgroup-v1"
    assert all((own / BASE_DIR).is_dir() for own in v1_host.hierarchy.dirs())
    node.close()
    assert not any((own / BASE_DIR).exists() for own in v1_host.hierarchy.dirs())


def test_detect_enforcer_without_cgroups_or_when_forced_is_best_effort(
    v1_host: FakeHost, tmp_path: Path
):
    forced = detect_enforcer(force_best_effort=True, proc=v1_host.proc, root=v1_host.root)
    assert forced.mode == "best-effort"
    assert forced.note.startswith("enforcement is best-effort: forced by configuration")
    assert not (v1_host.own("memory") / BASE_DIR).exists()
    nothing = detect_enforcer(proc=tmp_path / "no-proc", root=tmp_path)
    assert "cannot read our cgroup membership" in nothing.note


def test_sweep_removes_only_stale_empty_replica_cgroups(v1_host: FakeHost):
    node = enforcer(v1_host)
    node.prepare("keep", REQUESTS, Resources(cores=0, memory=0))
    for own in v1_host.hierarchy.dirs():
        (own / BASE_DIR / "stale").mkdir()
    assert node.sweep({"keep"}) == ["stale"]
    assert all((own / BASE_DIR / "keep").is_dir() for own in v1_host.hierarchy.dirs())


def test_best_effort_replicas_are_spread_over_the_cpus():
    node = Enforcer(None, why="test", cpus=[0, 1, 2])
    one_core = Resources(cores=0.5, memory=100)
    picked = [node.prepare(f"r{i}", REQUESTS, one_core) for i in range(4)]
    assert [e.cpus for e in picked if isinstance(e, BestEffortEnforcement)] == [[0], [1], [2], [0]]
    assert "CPU limited by affinity only: pinned to CPU 0" in picked[0].note


def test_cgroup_replicas_are_pinned_too_and_free_their_cpus_on_release(v1_host: FakeHost):
    node = enforcer(v1_host)  # CPUs 0-3
    first = node.prepare("r1", REQUESTS, Resources(cores=1, memory=100))
    second = node.prepare("r2", REQUESTS, Resources(cores=1.5, memory=100))
    assert isinstance(first, CgroupEnforcement)
    assert (first.cpus, second.cpus) == ([0], [1, 2])
    assert first.fork_setup()["cpus"] == [0]
    assert "pinned to CPU 0" in first.note
    first.release()  # CPU 0 is free again: the next two take 3 and 0, not a busy 1 or 2
    one_core = Resources(cores=1, memory=100)
    assert [node.prepare(r, REQUESTS, one_core).cpus for r in ("r3", "r4")] == [[3], [0]]


def test_a_limit_spanning_every_cpu_or_none_is_not_pinned(v1_host: FakeHost):
    node = enforcer(v1_host)
    for limits in (Resources(cores=4, memory=100), Resources(cores=0, memory=100)):
        enforcement = node.prepare(f"r{limits.cores}", REQUESTS, limits)
        assert enforcement.cpus == []
        assert enforcement.fork_setup()["cpus"] == []
        assert "not pinned to CPUs" in enforcement.note


def test_a_failed_prepare_frees_its_cpus(v1_host: FakeHost, monkeypatch: pytest.MonkeyPatch):
    node = enforcer(v1_host)

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(node, "_enforce", broken)
    with pytest.raises(KeyboardInterrupt):
        node.prepare("r1", REQUESTS, Resources(cores=1, memory=100))
    assert node.cpus.load() == {0: 0, 1: 0, 2: 0, 3: 0}


def test_watchdog_kills_the_tree_once_it_is_over_the_limit():
    samples = iter([([7, 8], 100 * MIB), ([7, 8], 210 * MIB), ([], 0)])
    killed: list[list[int]] = []
    dog = MemoryWatchdog(7, 200 * MIB, measure=lambda _: next(samples), kill=killed.append)
    assert dog.check() is True
    assert not dog.killed
    assert dog.check() is True
    assert dog.killed
    assert killed == [[7, 8]]
    assert dog.check() is False
    assert dog.peak_bytes == 210 * MIB


def test_best_effort_exit_reason_comes_from_the_watchdog():
    enforcement = Enforcer(None, why="test", cpus=[0]).prepare("r1", REQUESTS, LIMITS)
    assert isinstance(enforcement, BestEffortEnforcement)
    assert enforcement.exit_reason(-9) is None
    dog = MemoryWatchdog(7, 200 * MIB, measure=lambda _: ([7], 230 * MIB), kill=lambda _: None)
    dog.check()
    enforcement.watchdog = dog
    assert enforcement.exit_reason(-9) == (
        "OOMKilled",
        "memory limit 200 MiB exceeded (peak 230 MiB): raise limits.memory",
    )
