"""The two ways one replica's limits are enforced: by its cgroups, or best-effort from /proc.

Built by :class:`shipyard.backends.limits.enforcement.Enforcer`; both satisfy the
:class:`~shipyard.backends.limits.enforcement.Enforcement` protocol the LOCAL backend uses.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

from shipyard.backends.limits import procfs
from shipyard.backends.limits.cgroups import CgroupSet
from shipyard.backends.limits.usage import MIB, OOM_REASON, ReplicaUsage, oom_message
from shipyard.backends.limits.watchdog import MemoryWatchdog
from shipyard.spec.resources import Resources

log = logging.getLogger(__name__)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def thread_count(limits: Resources) -> int:
    """Threads for numeric libraries: the CPU limit rounded up, at least one."""
    return max(1, math.ceil(limits.cores)) if limits.cores > 0 else max(1, os.cpu_count() or 1)


class _Common:
    """What both modes share: the environment, the GPUs, the CPUs and the replica's identity."""

    mode = ""

    def __init__(
        self,
        replica_id: str,
        limits: Resources,
        gpus: list[str],
        cpus: list[int],
        on_release: Callable[[], None],
        proc: Path,
    ) -> None:
        self.replica_id = replica_id
        self.limits = limits
        self.gpus = list(gpus)
        self.cpus = sorted(cpus)
        """CPUs the replica is pinned to (:mod:`~shipyard.backends.limits.placement`); [] = any."""
        self.note = ""
        self._on_release = on_release
        self._proc = proc
        self._pid: int | None = None

    def preexec(self) -> None:
        """Runs in the child between fork and exec: pin it to its CPUs."""
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)

    def _cpu_note(self) -> str:
        if not self.cpus:
            return "not pinned to CPUs"
        return f"pinned to CPU {','.join(map(str, self.cpus))}"

    def env(self) -> dict[str, str]:
        """Variables to add to the replica's environment (thread pools, visible GPUs)."""
        env = dict.fromkeys(THREAD_VARS, str(thread_count(self.limits)))
        env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        return env

    def started(self, pid: int) -> None:
        """Tell the enforcement which process was started (call right after ``Popen``)."""
        self._pid = pid

    def fork_setup(self) -> dict[str, list[str] | list[int] | int]:
        """What :meth:`preexec` does, as data for a pre-imported parent that forks the replica
        (``shipyard.runtime.zygote``): cgroup files to join, CPUs to run on, thread-pool size."""
        return {"cgroup_procs": [], "cpus": list(self.cpus), "threads": thread_count(self.limits)}


class CgroupEnforcement(_Common):
    """Limits held by the kernel: the replica runs in its own cgroups from its first instruction."""

    def __init__(
        self,
        replica_id: str,
        limits: Resources,
        cgroups: CgroupSet,
        *,
        gpus: list[str],
        cpus: list[int],
        on_release: Callable[[], None],
        proc: Path = procfs.PROC,
    ) -> None:
        super().__init__(replica_id, limits, gpus, cpus, on_release, proc)
        self.cgroups = cgroups
        self.mode = f"cgroup-v{cgroups.hierarchy.version}"
        where = ", ".join(str(d) for d in cgroups.distinct_dirs())
        self.note = (
            f"memory and CPU limits enforced by cgroup v{cgroups.hierarchy.version} ({where}); "
            f"{self._cpu_note()}"
        )
        self._join = cgroups.join_function()
        self._final: ReplicaUsage | None = None

    def preexec(self) -> None:
        """Runs in the child between fork and exec: join the replica's cgroups, pin its CPUs."""
        self._join()
        super().preexec()

    def fork_setup(self) -> dict[str, list[str] | list[int] | int]:
        procs = [str(self.cgroups.inside(d / "cgroup.procs")) for d in self.cgroups.distinct_dirs()]
        return {**super().fork_setup(), "cgroup_procs": procs}

    def usage(self, pid: int | None = None) -> ReplicaUsage:
        """The cgroup's counters (after :meth:`release`, the last ones read)."""
        if self._final is not None:
            return self._final
        found = self.cgroups.usage()
        root = pid if pid is not None else self._pid
        if not self.cgroups.accounts_cpu and root is not None:
            found = dataclasses.replace(
                found, cpu_seconds=procfs.tree_cpu_seconds(root, self._proc)
            )
        return found

    def exit_reason(self, returncode: int | None) -> tuple[str, str] | None:
        """("OOMKilled", message) when the kernel killed a process of the replica for memory."""
        found = self.usage()
        if found.oom_kills <= 0:
            return None
        limit = found.memory_limit_bytes or self.limits.memory * MIB
        return OOM_REASON, oom_message(limit, found.memory_peak_bytes)

    def release(self) -> None:
        """Kill what is left in the cgroups, remove them, free the GPUs; never raises."""
        try:
            self._final = self.usage()
            procfs.kill_all(self.cgroups.pids())
            if not self.cgroups.remove():
                log.warning("cgroups of replica %s could not be removed", self.replica_id)
        except Exception:
            log.exception("releasing the cgroups of replica %s failed", self.replica_id)
        finally:
            self._on_release()


class BestEffortEnforcement(_Common):
    """Limits watched from outside: RSS sampled by a watchdog, CPUs restricted by affinity."""

    mode = "best-effort"

    def __init__(
        self,
        replica_id: str,
        limits: Resources,
        *,
        cpus: list[int],
        why: str,
        gpus: list[str],
        on_release: Callable[[], None],
        proc: Path = procfs.PROC,
        interval_s: float = 0.25,
    ) -> None:
        super().__init__(replica_id, limits, gpus, cpus, on_release, proc)
        self.interval_s = interval_s
        self.watchdog: MemoryWatchdog | None = None
        self.note = (
            f"enforcement is best-effort: {why}; memory watched every {interval_s:g} s, "
            f"CPU limited by affinity only: {self._cpu_note()}"
        )

    def started(self, pid: int) -> None:
        """Start the memory watchdog on ``pid`` (and the tree it will spawn)."""
        super().started(pid)
        if self.limits.memory > 0 and self.watchdog is None:
            self.watchdog = MemoryWatchdog(
                pid, self.limits.memory * MIB, interval_s=self.interval_s, proc=self._proc
            )
            self.watchdog.start()

    def usage(self, pid: int | None = None) -> ReplicaUsage:
        """CPU time and RSS of the process tree from /proc; peak as the watchdog saw it."""
        root = pid if pid is not None else self._pid
        limit = self.limits.memory * MIB if self.limits.memory > 0 else None
        watched = self.watchdog
        killed = 1 if watched is not None and watched.killed else 0
        seen = watched.peak_bytes if watched is not None else 0
        cores = float(len(self.cpus)) if self.cpus else None  # affinity is the only CPU limit
        if root is None:
            return ReplicaUsage(0.0, 0, seen, killed, 0, limit, cores)
        _, rss = procfs.tree_rss(root, self._proc)
        hwm = procfs.status_bytes(root, "VmHWM", self._proc)
        cpu = procfs.tree_cpu_seconds(root, self._proc)
        return ReplicaUsage(cpu, rss, max(seen, rss, hwm), killed, 0, limit, cores)

    def exit_reason(self, returncode: int | None) -> tuple[str, str] | None:
        """("OOMKilled", message) when the watchdog killed the replica."""
        watched = self.watchdog
        if watched is None or not watched.killed:
            return None
        return OOM_REASON, oom_message(watched.limit_bytes, watched.peak_bytes)

    def release(self) -> None:
        """Stop the watchdog and free the GPUs; never raises."""
        try:
            if self.watchdog is not None:
                self.watchdog.stop()
        finally:
            self._on_release()
