"""What a LOCAL replica reports, as the backend protocol's types: its usage and its load timings.

Part of :mod:`shipyard.backends.local`. Usage comes from the replica's limits (cgroup counters
where enforced, the process's own otherwise), with the limits read back where they are in
force; the timings from the runtime's ready answer.
"""

from __future__ import annotations

import httpx

from shipyard.backends.limits import Enforcement
from shipyard.backends.protocol import ReplicaRef, UsageSample
from shipyard.spec.resources import Resources


def usage_sample(ref: ReplicaRef, limits: Enforcement) -> UsageSample | None:
    """The replica's usage now (None when its process cannot be read)."""
    try:
        used = limits.usage(ref.pid)
    except OSError:
        return None
    requests, given = given_resources(ref)
    in_force = None
    if given is not None:  # what it runs with: the limits read back where enforced
        memory = used.memory_limit_bytes
        in_force = Resources(
            cores=used.cpu_limit_cores if used.cpu_limit_cores is not None else given.cores,
            memory=round(memory / (1024 * 1024)) if memory is not None else given.memory,
            gpus=len(limits.gpus),
        )
    return UsageSample(
        cpu_seconds=used.cpu_seconds,
        memory_bytes=used.memory_bytes,
        memory_peak_bytes=used.memory_peak_bytes,
        enforcement=limits.mode,
        note=limits.note,
        cpus=tuple(limits.cpus),
        requests=requests,
        limits=in_force,
        cpu_periods=used.cpu_periods,
        cpu_throttled=used.cpu_throttled,
    )


def given_resources(ref: ReplicaRef) -> tuple[Resources | None, Resources | None]:
    """The requests and limits a replica was started with (from its handle)."""
    try:
        requests = Resources.model_validate_json(ref.extra["requests"])
        limits = Resources.model_validate_json(ref.extra["limits"])
    except (KeyError, ValueError):
        return None, None
    return requests, limits


def runtime_timings(answer: httpx.Response) -> tuple[tuple[str, float], ...]:
    """The load phases a ready runtime reports (``{"timings": {"imports": s, "model_load": s}}``),
    only the known names with sane values; () when absent or malformed."""
    try:
        reported = answer.json().get("timings")
    except (ValueError, AttributeError):
        return ()
    if not isinstance(reported, dict):
        return ()
    return tuple(
        (name, float(reported[name]))
        for name in ("imports", "model_load")
        if isinstance(reported.get(name), int | float) and 0 <= reported[name] < 86400
    )
