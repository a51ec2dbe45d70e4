"""Finding our own cgroup per controller from /proc/self/cgroup and mountinfo."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backends.limits.hierarchy import (
    Mount,
    detect_hierarchy,
    own_directory,
    parse_mountinfo,
    parse_proc_cgroup,
)
from tests.unit.backends.conftest import V1_MOUNTINFO, FakeHost

pytestmark = pytest.mark.unit


def test_proc_cgroup_maps_each_controller_and_the_unified_entry():
    paths = parse_proc_cgroup("4:memory:/a/b\n3:cpu,cpuacct:/c\n0::/u\nbroken\n")
    assert paths == {"memory": "/a/b", "cpu": "/c", "cpuacct": "/c", "": "/u"}


def test_mountinfo_keeps_only_cgroup_mounts_and_unescapes_paths():
    text = V1_MOUNTINFO + r"50 31 0:40 /x /mnt/with\040space rw - cgroup cgroup rw,pids" + "\n"
    mounts = parse_mountinfo(text)
    assert [m.fstype for m in mounts].count("cgroup2") == 1
    assert Mount("/x", "/mnt/with space", "cgroup", frozenset({"rw", "pids"})) in mounts
    assert all(m.mountpoint != "/proc" for m in mounts)


def test_own_directory_follows_the_mount_root_of_a_bind_mounted_hierarchy(tmp_path: Path):
    mount = Mount("/docker/c1", "/sys/fs/cgroup/memory", "cgroup", frozenset({"memory"}))
    found = own_directory(mount, "/docker/c1/sub", tmp_path)
    assert found == tmp_path / "sys/fs/cgroup/memory/sub"
    assert own_directory(mount, "/elsewhere", tmp_path) is None


def test_v1_host_uses_the_memory_cgroup_we_are_in_and_the_cpu_root(v1_host: FakeHost):
    hierarchy, why = detect_hierarchy(v1_host.proc, v1_host.root)
    assert hierarchy is not None, why
    cgroup = v1_host.root / "sys/fs/cgroup"
    assert hierarchy.version == 1
    assert hierarchy.own == {
        "memory": cgroup / "memory/process_api/abc123",
        "cpu": cgroup / "cpu",
        "cpuacct": cgroup / "cpuacct",
    }


def test_co_mounted_cpu_and_cpuacct_share_one_directory(tmp_path: Path):
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text("3:cpu,cpuacct:/svc\n2:memory:/svc\n")
    (tmp_path / "proc/self/mountinfo").write_text(
        "1 0 0:1 / /cg/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "2 0 0:2 / /cg/memory rw - cgroup cgroup rw,memory\n"
    )
    hierarchy, _ = detect_hierarchy(tmp_path / "proc", tmp_path)
    assert hierarchy is not None
    assert hierarchy.own["cpu"] == hierarchy.own["cpuacct"] == tmp_path / "cg/cpu,cpuacct/svc"
    assert len(hierarchy.dirs()) == 2


def test_v2_is_chosen_when_our_cgroup_offers_cpu_and_memory(v2_host: FakeHost):
    hierarchy, _ = detect_hierarchy(v2_host.proc, v2_host.root)
    assert hierarchy is not None
    assert hierarchy.version == 2
    assert hierarchy.dirs() == [v2_host.root / "sys/fs/cgroup/system.slice/shipyard.service"]


def test_v2_without_controllers_and_no_v1_gives_a_reason(v2_host: FakeHost):
    own = v2_host.own("memory")
    (own / "cgroup.controllers").write_text("pids io\n")
    hierarchy, why = detect_hierarchy(v2_host.proc, v2_host.root)
    assert hierarchy is None
    assert "lacks the cpu+memory controller" in why
    assert "cgroup v1 memory and cpu controller not mounted" in why


def test_unreadable_proc_gives_a_reason(tmp_path: Path):
    hierarchy, why = detect_hierarchy(tmp_path / "nothing", tmp_path)
    assert hierarchy is None
    assert why.startswith("cannot read our cgroup membership")
