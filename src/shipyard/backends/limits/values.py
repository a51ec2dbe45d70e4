"""The numbers that go into cgroup files, computed from a replica's requests and limits (pure).

Used by :mod:`shipyard.backends.limits.cgroups`. Units follow :mod:`shipyard.spec.resources`:
cores are fractional CPUs, memory is MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.backends.limits.usage import MIB
from shipyard.spec.resources import Resources

CPU_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000  # the kernel refuses smaller quotas


@dataclass(frozen=True)
class CgroupLimits:
    """The numbers written into a replica's cgroup files (None = unlimited)."""

    memory_bytes: int | None
    cpu_quota_us: int | None
    cpu_period_us: int
    cpu_shares: int


def cpu_shares(cores: float) -> int:
    """v1 ``cpu.shares`` for a CPU request: 1024 per core, at least 2 (the kernel minimum)."""
    return min(262_144, max(2, round(cores * 1024)))


def cpu_weight(shares: int) -> int:
    """v2 ``cpu.weight`` for v1 shares, as systemd maps them (1024 -> 100), within 1..10000."""
    return min(10_000, max(1, shares * 100 // 1024))


def limits_for(requests: Resources, limits: Resources) -> CgroupLimits:
    """Memory limit = ``limits.memory`` MiB; quota = ``limits.cores`` x period; shares = request."""
    memory = limits.memory * MIB if limits.memory > 0 else None
    quota = max(MIN_QUOTA_US, round(limits.cores * CPU_PERIOD_US)) if limits.cores > 0 else None
    return CgroupLimits(memory, quota, CPU_PERIOD_US, cpu_shares(requests.cores))


def parse_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (memory.oom_control, memory.events, cpu.stat) as a dict."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out
