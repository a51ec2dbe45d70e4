"""One replica's cgroups in a fake tree: where they go, the exact numbers, usage, removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backends.limits.cgroups import BASE_DIR, CgroupError, CgroupSet, check_inside
from shipyard.backends.limits.values import cpu_shares, cpu_weight, limits_for
from shipyard.spec.resources import Resources
from tests.unit.backends.conftest import FakeHost, all_dirs

pytestmark = pytest.mark.unit

MIB = 1024 * 1024
REQUESTS = Resources(cores=0.25, memory=64)
LIMITS = Resources(cores=0.5, memory=200)


def read(path: Path) -> str:
    return path.read_text().strip()


@pytest.mark.parametrize(
    ("cores", "shares"), [(0.25, 256), (1.0, 1024), (0.0, 2), (0.001, 2), (1000.0, 262144)]
)
def test_cpu_shares_follow_the_request(cores: float, shares: int):
    assert cpu_shares(cores) == shares


@pytest.mark.parametrize(("shares", "weight"), [(1024, 100), (256, 25), (2, 1), (262144, 10000)])
def test_cpu_weight_maps_shares_like_systemd(shares: int, weight: int):
    assert cpu_weight(shares) == weight


def test_limits_for_zero_means_unlimited_and_tiny_quotas_are_raised_to_the_minimum():
    unlimited = limits_for(REQUESTS, Resources(cores=0, memory=0))
    assert (unlimited.memory_bytes, unlimited.cpu_quota_us) == (None, None)
    assert limits_for(REQUESTS, Resources(cores=0.001, memory=1)).cpu_quota_us == 1000


def test_create_makes_directories_only_beneath_our_own_cgroups(v1_host: FakeHost):
    before = all_dirs(v1_host.root)
    CgroupSet.create(v1_host.hierarchy, "r-1")
    created = all_dirs(v1_host.root) - before
    owns = set(v1_host.hierarchy.own.values())
    assert created == {own / BASE_DIR for own in owns} | {own / BASE_DIR / "r-1" for own in owns}
    memory_cgroup = v1_host.root / "sys/fs/cgroup/memory/process_api/abc123/shipyard/r-1"
    assert memory_cgroup in created


def test_v1_limits_get_the_exact_numbers(v1_host: FakeHost):
    cgroups = CgroupSet.create(v1_host.hierarchy, "r-1")
    cgroups.apply(REQUESTS, LIMITS)
    assert read(cgroups.dirs["memory"] / "memory.limit_in_bytes") == "209715200"
    assert read(cgroups.dirs["cpu"] / "cpu.cfs_period_us") == "100000"
    assert read(cgroups.dirs["cpu"] / "cpu.cfs_quota_us") == "50000"
    assert read(cgroups.dirs["cpu"] / "cpu.shares") == "256"


def test_v2_limits_get_the_exact_numbers_and_controllers_are_delegated(v2_host: FakeHost):
    own = v2_host.own("memory")
    cgroups = CgroupSet.create(v2_host.hierarchy, "r-1")
    (cgroups.dirs["memory"] / "memory.swap.max").write_text("max")
    cgroups.apply(REQUESTS, LIMITS)
    assert read(cgroups.dirs["memory"] / "memory.max") == "209715200"
    assert read(cgroups.dirs["memory"] / "memory.swap.max") == "0"
    assert read(cgroups.dirs["cpu"] / "cpu.max") == "50000 100000"
    assert read(cgroups.dirs["cpu"] / "cpu.weight") == "25"
    assert read(own / "cgroup.subtree_control") == "+cpu +memory"
    assert read(own / BASE_DIR / "cgroup.subtree_control") == "+cpu +memory"


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x" * 200])
def test_names_that_could_leave_the_subtree_are_refused(v1_host: FakeHost, name: str):
    with pytest.raises(CgroupError):
        CgroupSet(v1_host.hierarchy, name)


def test_paths_outside_our_own_cgroup_are_refused(v1_host: FakeHost):
    own = v1_host.own("memory")
    assert check_inside(own / "shipyard" / "r", own) == own / "shipyard" / "r"
    with pytest.raises(CgroupError, match="outside our own cgroup"):
        check_inside(own / ".." / "sibling", own)
    with pytest.raises(CgroupError):
        check_inside(v1_host.root / "sys/fs/cgroup/memory/tasks", own)


def test_a_symlink_out_of_the_subtree_is_never_written_through(v1_host: FakeHost, tmp_path: Path):
    outside = tmp_path / "host-cgroup"
    outside.mkdir()
    for own in v1_host.hierarchy.dirs():
        (own / BASE_DIR).mkdir(exist_ok=True)
        (own / BASE_DIR / "evil").symlink_to(outside)
    cgroups = CgroupSet(v1_host.hierarchy, "evil")
    with pytest.raises(CgroupError):
        cgroups.apply(REQUESTS, LIMITS)
    with pytest.raises(CgroupError):
        cgroups.attach(1)
    assert list(outside.iterdir()) == []


def test_join_function_writes_zero_into_every_cgroup_procs(v1_host: FakeHost):
    cgroups = CgroupSet.create(v1_host.hierarchy, "r-1")
    for directory in cgroups.distinct_dirs():
        (directory / "cgroup.procs").write_text("")
    cgroups.join_function()()
    assert {read(d / "cgroup.procs") for d in cgroups.distinct_dirs()} == {"0"}


def test_v1_usage_reads_cpuacct_memory_and_oom_control(v1_host: FakeHost):
    cgroups = CgroupSet.create(v1_host.hierarchy, "r-1")
    cgroups.apply(REQUESTS, LIMITS)
    memory = cgroups.dirs["memory"]
    (cgroups.dirs["cpuacct"] / "cpuacct.usage").write_text("1500000000\n")
    (memory / "memory.usage_in_bytes").write_text(f"{150 * MIB}\n")
    (memory / "memory.max_usage_in_bytes").write_text(f"{212 * MIB}\n")
    (memory / "memory.failcnt").write_text("7\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
    usage = cgroups.usage()
    assert usage.cpu_seconds == pytest.approx(1.5)
    assert (usage.memory_bytes, usage.memory_peak_bytes) == (150 * MIB, 212 * MIB)
    assert (usage.oom_kills, usage.limit_hits, usage.memory_limit_bytes) == (1, 7, 200 * MIB)


def test_v2_usage_reads_cpu_stat_and_memory_events_and_tracks_peak(v2_host: FakeHost):
    cgroups = CgroupSet.create(v2_host.hierarchy, "r-1")
    cgroups.apply(REQUESTS, LIMITS)
    directory = cgroups.dirs["memory"]
    (directory / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (directory / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (directory / "memory.current").write_text(f"{180 * MIB}\n")
    first = cgroups.usage()
    (directory / "memory.current").write_text(f"{20 * MIB}\n")
    second = cgroups.usage()
    assert first.cpu_seconds == pytest.approx(2.5)
    assert (second.memory_bytes, second.memory_peak_bytes) == (20 * MIB, 180 * MIB)
    assert (second.oom_kills, second.limit_hits) == (1, 3)
    (directory / "memory.peak").write_text(f"{201 * MIB}\n")
    assert cgroups.usage().memory_peak_bytes == 201 * MIB


def test_the_limits_in_force_are_read_back_from_the_files(v1_host: FakeHost, v2_host: FakeHost):
    old = CgroupSet.create(v1_host.hierarchy, "r-1")
    old.apply(REQUESTS, LIMITS)
    assert old.usage().cpu_limit_cores == 0.5
    (old.dirs["cpu"] / "cpu.cfs_quota_us").write_text("25000\n")  # changed underneath us
    (old.dirs["memory"] / "memory.limit_in_bytes").write_text(f"{96 * MIB}\n")
    usage = old.usage()
    assert (usage.cpu_limit_cores, usage.memory_limit_bytes) == (0.25, 96 * MIB)
    (old.dirs["cpu"] / "cpu.cfs_quota_us").write_text("-1\n")
    assert old.usage().cpu_limit_cores is None  # unlimited
    new = CgroupSet.create(v2_host.hierarchy, "r-2")
    new.apply(REQUESTS, Resources(cores=1.5, memory=200))
    assert new.usage().cpu_limit_cores == 1.5
    (new.dirs["cpu"] / "cpu.max").write_text("max 100000\n")
    assert new.usage().cpu_limit_cores is None


def test_remove_deletes_empty_cgroups_and_never_raises_on_busy_ones(v1_host: FakeHost):
    empty = CgroupSet.create(v1_host.hierarchy, "r-1")
    assert empty.remove(timeout_s=0) is True
    assert not any(d.exists() for d in empty.distinct_dirs())
    busy = CgroupSet.create(v1_host.hierarchy, "r-2")
    (busy.dirs["memory"] / "cgroup.procs").write_text("123\n")  # a fake dir with a file stays
    assert busy.remove(timeout_s=0.1) is False
    assert busy.pids() == {123}
