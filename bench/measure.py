"""Measuring one started target: warm-up, then wrk at each concurrency, CPU and memory by role.

For every protocol the target speaks, the load generator first warms it up (highest
concurrency, ``warmup_s``), then runs each concurrency for ``duration_s``. Around every run the
CPU time of each process of the target's tree is read from ``/proc`` and summed by role
(gateway, replica, worker...), and so is the whole machine's, so the report can show where the
time goes and how busy the machine was with other work. Memory is read after the runs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import load
from bench.load import LoadResult
from bench.procs import CLOCK_TICKS, memory_kib
from bench.settings import RunSettings
from bench.target import Started

PAUSE_S = 1.0
"""Idle time between runs, so one run's tail does not spill into the next."""


@dataclass(frozen=True)
class Run:
    """One protocol at one concurrency."""

    protocol: str
    load: LoadResult
    cpu_s_by_role: dict[str, float]
    """CPU seconds each role of the target used during the run."""
    machine_busy: float
    """Share of all cores busy during the run (the target, wrk and anything else)."""


@dataclass(frozen=True)
class ProcMemory:
    """Resident memory of one process of the target, after the load."""

    role: str
    pid: int
    rss_mib: float
    pss_mib: float


@dataclass
class TargetResult:
    """Everything measured on one target."""

    name: str
    start_to_first_s: float
    worker_role: str
    python: str
    runs: list[Run] = field(default_factory=list)
    memory: list[ProcMemory] = field(default_factory=list)
    processes_seen: dict[str, int] = field(default_factory=dict)
    """Distinct pids seen per role over the target's life (more than started = restarts)."""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from ``/proc/stat``."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


class _Observer:
    """CPU ticks per role of a target's tree, and every pid seen per role."""

    def __init__(self, started: Started) -> None:
        self._started = started
        self.roles: dict[int, str] = {}

    def cpu_ticks(self) -> dict[int, int]:
        ticks: dict[int, int] = {}
        for proc in self._started.proc.refresh():
            is_root = proc.pid == self._started.proc.pid
            self.roles.setdefault(proc.pid, self._started.classify(proc, is_root))
            ticks[proc.pid] = proc.cpu_ticks
        return ticks

    def by_role(self, before: dict[int, int], after: dict[int, int]) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, ticks in after.items():
            role = self.roles[pid]
            used[role] = used.get(role, 0.0) + (ticks - before.get(pid, 0)) / CLOCK_TICKS
        return used


def _measured_run(
    started: Started,
    observer: _Observer,
    protocol: str,
    request: load.Request,
    *,
    concurrency: int,
    settings: RunSettings,
) -> Run:
    cpu_before, machine_before = observer.cpu_ticks(), _machine_ticks()
    result = load.run(
        request,
        concurrency=concurrency,
        duration_s=settings.duration_s,
        threads=settings.wrk_threads,
    )
    cpu_after, machine_after = observer.cpu_ticks(), _machine_ticks()
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    return Run(protocol, result, observer.by_role(cpu_before, cpu_after), busy / max(1, total))


def measure(started: Started, settings: RunSettings) -> TargetResult:
    """Warm up and measure every protocol of ``started`` at every concurrency."""
    result = TargetResult(
        name=started.name,
        start_to_first_s=started.start_to_first_s,
        worker_role=started.worker_role,
        python=str(started.python),
        notes=list(started.notes),
        extra=dict(started.extra),
    )
    observer = _Observer(started)
    top = max(settings.concurrencies)
    for endpoint in started.endpoints:
        load.run(endpoint.request, concurrency=top, duration_s=settings.warmup_s)
        for concurrency in settings.concurrencies:
            time.sleep(PAUSE_S)
            run = _measured_run(
                started,
                observer,
                endpoint.protocol,
                endpoint.request,
                concurrency=concurrency,
                settings=settings,
            )
            result.runs.append(run)
            print(f"  {started.name} {endpoint.protocol} c={concurrency}: {_line(run.load)}")
    for proc in started.proc.refresh():
        observer.roles.setdefault(proc.pid, started.classify(proc, proc.pid == started.proc.pid))
        if (mem := memory_kib(proc.pid)) is not None:
            role = observer.roles[proc.pid]
            result.memory.append(ProcMemory(role, proc.pid, mem[0] / 1024, mem[1] / 1024))
    result.processes_seen = dict(Counter(observer.roles.values()))
    return result


def _line(r: LoadResult) -> str:
    return (
        f"{r.rps:8.0f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms  "
        f"errors {r.errors}  (wrk {r.wrk_cpu_share:.0%} of a core)"
    )
