"""Fake cgroup trees (v1 like this kind of host, v2 unified) and a fake /proc under tmp_path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shipyard.backends.limits.hierarchy import Hierarchy

MEMORY_OWN = "/process_api/abc123"

V1_MOUNTINFO = """\
22 28 0:20 / /proc rw,nosuid - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_PROC_CGROUP = f"""\
9:name=systemd:/
4:memory:{MEMORY_OWN}
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
"""
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V2_OWN = "/system.slice/shipyard.service"


@dataclass
class FakeHost:
    root: Path
    proc: Path
    hierarchy: Hierarchy

    def own(self, controller: str) -> Path:
        return self.hierarchy.own[controller]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def v1_host(tmp_path: Path) -> FakeHost:
    """Hybrid host: v1 memory/cpu/cpuacct (memory own cgroup nested), empty unified v2."""
    proc, cgroup = tmp_path / "proc", tmp_path / "sys" / "fs" / "cgroup"
    _write(proc / "self" / "cgroup", V1_PROC_CGROUP)
    _write(proc / "self" / "mountinfo", V1_MOUNTINFO)
    own = {
        "memory": cgroup / "memory" / MEMORY_OWN.lstrip("/"),
        "cpu": cgroup / "cpu",
        "cpuacct": cgroup / "cpuacct",
    }
    for directory in own.values():
        directory.mkdir(parents=True, exist_ok=True)
    _write(cgroup / "unified" / "cgroup.controllers", "")
    return FakeHost(tmp_path, proc, Hierarchy(1, own))


@pytest.fixture
def v2_host(tmp_path: Path) -> FakeHost:
    """Unified v2 host where our cgroup offers cpu and memory."""
    proc = tmp_path / "proc"
    own = tmp_path / "sys" / "fs" / "cgroup" / V2_OWN.lstrip("/")
    _write(proc / "self" / "cgroup", f"0::{V2_OWN}\n")
    _write(proc / "self" / "mountinfo", V2_MOUNTINFO)
    _write(own / "cgroup.controllers", "cpuset cpu io memory pids\n")
    _write(own / "cgroup.subtree_control", "")
    return FakeHost(tmp_path, proc, Hierarchy(2, {"cpu": own, "memory": own}))


def all_dirs(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_dir()}
