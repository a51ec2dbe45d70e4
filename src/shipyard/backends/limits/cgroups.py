"""One replica's cgroups: created beneath Shipyard's own cgroup, limited, joined, measured, removed.

A replica named ``r1`` gets ``<own>/shipyard/r1`` under each controller's own directory found by
:mod:`shipyard.backends.limits.hierarchy` (v1: the memory, cpu and cpuacct cgroups we run in;
v2: our unified cgroup). Because the new cgroups are children of ours, every limit above us
(the host's) stays in force. Every write is checked to land inside our own cgroup; anything else
raises :class:`CgroupError`. The arithmetic of the values is pure and lives in
:mod:`shipyard.backends.limits.values`.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from shipyard.backends.limits.hierarchy import Hierarchy
from shipyard.backends.limits.usage import ReplicaUsage
from shipyard.backends.limits.values import CgroupLimits, cpu_weight, limits_for, parse_keyed
from shipyard.errors import ShipyardError
from shipyard.spec.resources import Resources

BASE_DIR = "shipyard"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class CgroupError(ShipyardError):
    """A cgroup could not be created or written, or a path would leave our own cgroup."""


def check_inside(path: Path, base: Path) -> Path:
    """``path`` normalised, or CgroupError if it is not ``base`` itself or beneath it."""
    real, real_base = Path(os.path.realpath(path)), Path(os.path.realpath(base))
    if not real.is_relative_to(real_base):
        raise CgroupError(f"refusing to touch {path}: it is outside our own cgroup {base}")
    return real


class CgroupSet:
    """The cgroups of one replica, one directory per controller (shared when co-mounted)."""

    def __init__(self, hierarchy: Hierarchy, name: str) -> None:
        if not _NAME.match(name):
            raise CgroupError(f"invalid cgroup name {name!r}")
        self.hierarchy = hierarchy
        self.name = name
        self.dirs = {c: own / BASE_DIR / name for c, own in hierarchy.own.items()}
        self._limit_bytes: int | None = None
        self._peak_seen = 0

    @classmethod
    def create(cls, hierarchy: Hierarchy, name: str) -> CgroupSet:
        """Make ``<own>/shipyard/<name>`` under every controller (existing ones are reused)."""
        cgroups = cls(hierarchy, name)
        for own in hierarchy.dirs():
            prepare_base(hierarchy, own)
        for directory in cgroups.distinct_dirs():
            target = cgroups.inside(directory)
            try:
                target.mkdir(exist_ok=True)
            except OSError as exc:
                cgroups.remove(timeout_s=0)
                raise CgroupError(f"cannot create cgroup {directory}: {exc.strerror}") from exc
        return cgroups

    def distinct_dirs(self) -> list[Path]:
        return sorted(set(self.dirs.values()))

    def exists(self) -> bool:
        return all(d.is_dir() for d in self.distinct_dirs())

    def inside(self, path: Path) -> Path:
        """``path`` resolved, if it lies in ``<own>/shipyard`` of a controller, else CgroupError."""
        for own in self.hierarchy.own.values():
            with contextlib.suppress(CgroupError):
                real = check_inside(path, own)
                if real.relative_to(os.path.realpath(own)).parts[:1] == (BASE_DIR,):
                    return real
        raise CgroupError(f"refusing to touch {path}: it is outside the replica's cgroups")

    def _write(self, controller: str, filename: str, value: str, *, optional: bool = False) -> None:
        path = self.inside(self.dirs[controller] / filename)
        if optional and not path.exists():
            return
        try:
            with open(path, "w", encoding="ascii") as handle:
                handle.write(value)
        except OSError as exc:
            if optional:
                return
            raise CgroupError(f"cannot write {value!r} to {path}: {exc.strerror}") from exc

    def apply(self, requests: Resources, limits: Resources) -> CgroupLimits:
        """Write the memory limit, CPU quota and CPU shares; returns the numbers written."""
        values = limits_for(requests, limits)
        self._limit_bytes = values.memory_bytes
        if self.hierarchy.version == 1:
            self._apply_v1(values)
        else:
            self._apply_v2(values)
        return values

    def _apply_v1(self, values: CgroupLimits) -> None:
        memory = str(values.memory_bytes) if values.memory_bytes is not None else "-1"
        self._write("memory", "memory.limit_in_bytes", memory)
        self._write("memory", "memory.swappiness", "0", optional=True)  # the limit means RAM
        self._write("cpu", "cpu.cfs_period_us", str(values.cpu_period_us))
        quota = str(values.cpu_quota_us) if values.cpu_quota_us is not None else "-1"
        self._write("cpu", "cpu.cfs_quota_us", quota)
        self._write("cpu", "cpu.shares", str(values.cpu_shares))

    def _apply_v2(self, values: CgroupLimits) -> None:
        memory = str(values.memory_bytes) if values.memory_bytes is not None else "max"
        self._write("memory", "memory.max", memory)
        self._write("memory", "memory.swap.max", "0", optional=True)
        self._write("memory", "memory.oom.group", "1", optional=True)  # kill the whole tree
        quota = str(values.cpu_quota_us) if values.cpu_quota_us is not None else "max"
        self._write("cpu", "cpu.max", f"{quota} {values.cpu_period_us}")
        self._write("cpu", "cpu.weight", str(cpu_weight(values.cpu_shares)))

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into every controller's cgroup."""
        for directory in self.distinct_dirs():
            path = self.inside(directory / "cgroup.procs")
            try:
                path.write_text(str(pid))
            except OSError as exc:
                raise CgroupError(f"cannot move {pid} into {directory}: {exc.strerror}") from exc

    def join_function(self) -> Callable[[], None]:
        """A function that moves the *calling* process into the cgroups, for ``preexec_fn``.

        The paths are checked and encoded now, so between fork and exec it only makes
        ``os.open``/``os.write`` calls (no imports, no locks). If a write fails it raises,
        and ``subprocess.Popen`` then fails instead of running the replica unconfined.
        """
        targets = [os.fsencode(self.inside(d / "cgroup.procs")) for d in self.distinct_dirs()]

        def join() -> None:
            for target in targets:
                fd = os.open(target, os.O_WRONLY)
                try:
                    os.write(fd, b"0")
                finally:
                    os.close(fd)

        return join

    def _read(self, controller: str, filename: str) -> str | None:
        directory = self.dirs.get(controller)
        if directory is None:
            return None
        try:
            return (directory / filename).read_text()
        except OSError:
            return None

    def _number(self, controller: str, filename: str) -> int | None:
        text = self._read(controller, filename)
        return int(text.split()[0]) if text and text.split()[0].isdigit() else None

    @property
    def accounts_cpu(self) -> bool:
        """Whether CPU time is counted by the cgroup (v2 always; v1 with cpuacct mounted)."""
        return self.hierarchy.version == 2 or "cpuacct" in self.dirs

    def usage(self) -> ReplicaUsage:
        """CPU time, memory now and at peak, OOM kills (0.0 CPU when not accounted)."""
        return self._usage_v1() if self.hierarchy.version == 1 else self._usage_v2()

    def _usage_v1(self) -> ReplicaUsage:
        cpu_ns = self._number("cpuacct", "cpuacct.usage") or 0
        current = self._number("memory", "memory.usage_in_bytes") or 0
        peak = self._number("memory", "memory.max_usage_in_bytes") or current
        oom = parse_keyed(self._read("memory", "memory.oom_control") or "")
        hits = self._number("memory", "memory.failcnt") or 0
        cpu = parse_keyed(self._read("cpu", "cpu.stat") or "")
        return ReplicaUsage(
            cpu_ns / 1e9,
            current,
            peak,
            oom.get("oom_kill", 0),
            hits,
            self.limit_bytes(),
            self.cpu_limit_cores(),
            cpu.get("nr_periods"),
            cpu.get("nr_throttled"),
        )

    def _usage_v2(self) -> ReplicaUsage:
        cpu = parse_keyed(self._read("cpu", "cpu.stat") or "")
        current = self._number("memory", "memory.current") or 0
        self._peak_seen = max(self._peak_seen, current)
        peak = self._number("memory", "memory.peak") or self._peak_seen
        events = parse_keyed(self._read("memory", "memory.events") or "")
        return ReplicaUsage(
            cpu.get("usage_usec", 0) / 1e6,
            current,
            peak,
            events.get("oom_kill", 0),
            events.get("max", 0),
            self.limit_bytes(),
            self.cpu_limit_cores(),
            cpu.get("nr_periods"),
            cpu.get("nr_throttled"),
        )

    def limit_bytes(self) -> int | None:
        """The memory limit in force (from the files, else what :meth:`apply` wrote)."""
        name = "memory.limit_in_bytes" if self.hierarchy.version == 1 else "memory.max"
        found = self._number("memory", name)
        if found is not None and found < 1 << 60:
            return found
        return self._limit_bytes

    def cpu_limit_cores(self) -> float | None:
        """The CPU quota in force, in cores, read from the cgroup's files (None: unlimited)."""
        if self.hierarchy.version == 1:
            quota = self._read("cpu", "cpu.cfs_quota_us")
            period = self._read("cpu", "cpu.cfs_period_us")
        else:
            text = (self._read("cpu", "cpu.max") or "").split()
            quota, period = (text[0], text[1]) if len(text) == 2 else (None, None)
        try:
            quota_us, period_us = int(quota or ""), int(period or "")
        except ValueError:
            return None  # "max", "-1" or unreadable
        return round(quota_us / period_us, 3) if quota_us > 0 and period_us > 0 else None

    def pids(self) -> set[int]:
        """Processes still in any of the replica's cgroups."""
        found: set[int] = set()
        for controller in self.dirs:
            text = self._read(controller, "cgroup.procs") or ""
            found.update(int(p) for p in text.split() if p.isdigit())
        return found

    def remove(self, *, timeout_s: float = 2.0) -> bool:
        """Remove the replica's cgroups once empty, retrying up to ``timeout_s``; never raises."""
        deadline = time.monotonic() + timeout_s
        pending = [self.inside(d) for d in self.distinct_dirs() if d.is_dir()]
        while pending:
            pending = [d for d in pending if not _rmdir(d)]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        return not pending


def _rmdir(directory: Path) -> bool:
    try:
        directory.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # EBUSY while the last process exits; never raise on cleanup
    return True


def prepare_base(hierarchy: Hierarchy, own: Path) -> Path:
    """Create ``<own>/shipyard`` (and, on v2, delegate cpu and memory to its children)."""
    base = check_inside(own / BASE_DIR, own)
    try:
        base.mkdir(exist_ok=True)
        if hierarchy.version == 2:
            _enable_controllers(own)
            _enable_controllers(base)
    except OSError as exc:
        raise CgroupError(f"cannot prepare {base}: {exc.strerror or exc}") from exc
    return base


def _enable_controllers(directory: Path) -> None:
    control = directory / "cgroup.subtree_control"
    enabled = set(control.read_text().split()) if control.exists() else set()
    if {"cpu", "memory"} <= enabled:
        return
    with open(control, "w", encoding="ascii") as handle:
        handle.write("+cpu +memory")


def remove_base(hierarchy: Hierarchy) -> None:
    """Remove ``<own>/shipyard`` under every controller if no replica cgroup is left in it."""
    for own in hierarchy.dirs():
        with contextlib.suppress(OSError):
            (own / BASE_DIR).rmdir()
