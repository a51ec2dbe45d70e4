"""What one replica consumes, and how an out-of-memory kill is explained to the user.

Produced by both enforcement modes (cgroup counters or /proc sampling) in
:mod:`shipyard.backends.limits.enforcement`; the LOCAL backend copies it into replica status.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
OOM_REASON = "OOMKilled"


@dataclass(frozen=True)
class ReplicaUsage:
    """Resource use of one replica (its whole process tree) since it started."""

    cpu_seconds: float  # user + system CPU time
    memory_bytes: int  # resident now
    memory_peak_bytes: int  # highest resident seen
    oom_kills: int = 0  # processes killed for exceeding the memory limit
    limit_hits: int = 0  # times the memory limit was reached (cgroups only)
    memory_limit_bytes: int | None = None
    cpu_limit_cores: float | None = None  # the CPU limit in force, read back (None: unlimited)
    cpu_periods: int | None = None  # CFS periods with a quota (cpu.stat nr_periods; None: unknown)
    cpu_throttled: int | None = None  # periods the quota stopped it (cpu.stat nr_throttled)


def mib(value: int) -> int:
    """Bytes as whole MiB (rounded), for messages."""
    return round(value / MIB)


def oom_message(limit_bytes: int, peak_bytes: int) -> str:
    """The user-facing message of an OOMKilled exit."""
    return (
        f"memory limit {mib(limit_bytes)} MiB exceeded (peak {mib(peak_bytes)} MiB): "
        "raise limits.memory"
    )
