"""The local node's capacity: what the LOCAL backend may hand out to replicas.

Cores: the CPUs this process may run on, capped by our own cgroup's CPU quota; memory: the
machine's MemTotal, capped by our own cgroup's memory limit; GPUs: the configured inventory.
Each can be overridden by a setting (``SHIPYARD_NODE_CORES``, ``SHIPYARD_NODE_MEMORY_MB``).
"""

from __future__ import annotations

import os
from pathlib import Path

MIB = 1024 * 1024
_UNLIMITED = 1 << 60


def _own_cgroup(controller: str, proc_cgroup: Path) -> str | None:
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (controllers == "" and controller == ""):
            return path
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_limit(
    root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc")
) -> float | None:
    """Cores allowed by our own cgroup's CPU quota (v1 or v2), None when unlimited."""
    own = _own_cgroup("cpu", proc / "self" / "cgroup")
    if own is not None:
        base = root / "cpu" / own.lstrip("/")
        quota, period = _read(base / "cpu.cfs_quota_us"), _read(base / "cpu.cfs_period_us")
        if quota and period and int(quota) > 0:
            return int(quota) / int(period)
    unified = _own_cgroup("", proc / "self" / "cgroup")
    if unified is not None:
        value = _read(root / unified.lstrip("/") / "cpu.max")
        if value and not value.startswith("max"):
            quota_s, period_s = value.split()
            return int(quota_s) / int(period_s)
    return None


def cgroup_memory_limit(
    root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc")
) -> int | None:
    """Bytes allowed by our own cgroup's memory limit (v1 or v2), None when unlimited."""
    own = _own_cgroup("memory", proc / "self" / "cgroup")
    if own is not None:
        value = _read(root / "memory" / own.lstrip("/") / "memory.limit_in_bytes")
        if value and int(value) < _UNLIMITED:
            return int(value)
    unified = _own_cgroup("", proc / "self" / "cgroup")
    if unified is not None:
        value = _read(root / unified.lstrip("/") / "memory.max")
        if value and value != "max":
            return int(value)
    return None


def mem_total(meminfo: Path = Path("/proc/meminfo")) -> int:
    """MemTotal in bytes."""
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise OSError("no MemTotal in /proc/meminfo")


def detect_cores() -> float:
    cores = float(len(os.sched_getaffinity(0)))
    quota = cgroup_cpu_limit()
    return min(cores, quota) if quota else cores


def detect_memory_mib() -> int:
    limit = cgroup_memory_limit()
    total = mem_total()
    return (min(total, limit) if limit else total) // MIB
