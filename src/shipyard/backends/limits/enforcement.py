"""How the LOCAL backend enforces a replica's requests and limits: the strategy and its choice.

:func:`detect_enforcer` picks the strongest mode this process can use: ``cgroup-v2`` or
``cgroup-v1`` (replica cgroups beneath our own, see :mod:`shipyard.backends.limits.cgroups`),
else ``best-effort`` (memory watchdog plus CPU affinity, see
:mod:`shipyard.backends.limits.modes`). The backend then asks :meth:`Enforcer.prepare` for one
:class:`Enforcement` per replica and wires it into ``subprocess.Popen``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

from shipyard.backends.gpus import GpuInventory
from shipyard.backends.limits import procfs
from shipyard.backends.limits.cgroups import (
    BASE_DIR,
    CgroupError,
    CgroupSet,
    prepare_base,
    remove_base,
)
from shipyard.backends.limits.hierarchy import Hierarchy, detect_hierarchy
from shipyard.backends.limits.modes import BestEffortEnforcement, CgroupEnforcement
from shipyard.backends.limits.placement import CpuPlacer
from shipyard.backends.limits.usage import ReplicaUsage
from shipyard.spec.resources import Resources

log = logging.getLogger(__name__)

BEST_EFFORT = "best-effort"


class Enforcement(Protocol):
    """The limits of one replica, as the LOCAL backend uses them around ``Popen``."""

    replica_id: str
    mode: str  # "cgroup-v2" | "cgroup-v1" | "best-effort"
    note: str  # human explanation, e.g. why enforcement is best-effort
    gpus: list[str]
    cpus: list[int]  # pinned to these; [] = not pinned

    def preexec(self) -> None: ...  # Popen(preexec_fn=...): runs in the child before exec

    def env(self) -> dict[str, str]: ...  # extra environment for the child

    def fork_setup(self) -> dict[str, list[str] | list[int] | int]: ...  # preexec, as data

    def started(self, pid: int) -> None: ...  # after Popen: the child's pid

    def usage(self, pid: int | None = None) -> ReplicaUsage: ...

    def exit_reason(self, returncode: int | None) -> tuple[str, str] | None: ...

    def release(self) -> None: ...  # after the replica is gone; never raises


class Enforcer:
    """Makes an :class:`Enforcement` for each replica of this node, in one mode."""

    def __init__(
        self,
        hierarchy: Hierarchy | None,
        *,
        why: str = "",
        gpus: GpuInventory | None = None,
        cpus: Sequence[int] | None = None,
        proc: Path = procfs.PROC,
        watch_interval_s: float = 0.25,
    ) -> None:
        self.hierarchy = hierarchy
        self.gpus = gpus or GpuInventory([])
        self._why = why or "no usable cgroup hierarchy"
        self.cpus = CpuPlacer(cpus if cpus is not None else sorted(os.sched_getaffinity(0)))
        self._proc = proc
        self._interval_s = watch_interval_s

    @property
    def mode(self) -> str:
        return f"cgroup-v{self.hierarchy.version}" if self.hierarchy else BEST_EFFORT

    @property
    def note(self) -> str:
        """One line for logs and status: where limits are enforced, or why only best-effort."""
        if self.hierarchy is None:
            return (
                f"enforcement is best-effort: {self._why}; memory watched every "
                f"{self._interval_s:g} s, CPU limited by affinity only"
            )
        where = ", ".join(str(d / BASE_DIR) for d in self.hierarchy.dirs())
        return (
            f"limits enforced by cgroup v{self.hierarchy.version} beneath {where}; replicas "
            "pinned to as many CPUs as their CPU limit rounded up"
        )

    def prepare(self, replica_id: str, requests: Resources, limits: Resources) -> Enforcement:
        """Allocate GPUs and CPUs, create the replica's cgroups (or its best-effort watch).

        Raises:
            InsufficientGpus: the replica asks for more GPUs than are free.
        """
        count = max(requests.gpus, limits.gpus)
        devices = self.gpus.allocate(replica_id, count)
        try:
            cpus = self.cpus.assign(replica_id, limits)
            return self._enforce(replica_id, requests, limits, devices, cpus, create=True)
        except BaseException:
            self._free(replica_id)
            raise

    def adopt(
        self,
        replica_id: str,
        requests: Resources,
        limits: Resources,
        *,
        pid: int,
        gpus: Sequence[str] = (),
    ) -> Enforcement:
        """Take over a replica a previous server started (its cgroups stay as they are)."""
        devices = self.gpus.restore(replica_id, gpus)
        try:
            affinity: Collection[int] = os.sched_getaffinity(pid)
        except OSError:  # gone already: whatever it was pinned to is free
            affinity = ()
        cpus = self.cpus.adopt(replica_id, affinity)
        enforcement = self._enforce(replica_id, requests, limits, devices, cpus, create=False)
        enforcement.started(pid)
        return enforcement

    def _enforce(
        self,
        replica_id: str,
        requests: Resources,
        limits: Resources,
        devices: list[str],
        cpus: list[int],
        *,
        create: bool,
    ) -> Enforcement:
        if self.hierarchy is None:
            return self._best_effort(replica_id, limits, devices, cpus, self._why)
        try:
            if create:
                cgroups = CgroupSet.create(self.hierarchy, replica_id)
                cgroups.apply(requests, limits)
            else:
                cgroups = CgroupSet(self.hierarchy, replica_id)
                if not cgroups.exists():
                    raise CgroupError(f"the cgroups of adopted replica {replica_id} are gone")
        except CgroupError as exc:
            log.warning("replica %s falls back to best-effort limits: %s", replica_id, exc)
            if create:
                with contextlib.suppress(CgroupError):
                    CgroupSet(self.hierarchy, replica_id).remove(timeout_s=0)
            return self._best_effort(replica_id, limits, devices, cpus, exc.message)
        return CgroupEnforcement(
            replica_id,
            limits,
            cgroups,
            gpus=devices,
            cpus=cpus,
            on_release=lambda: self._free(replica_id),
            proc=self._proc,
        )

    def _best_effort(
        self, replica_id: str, limits: Resources, devices: list[str], cpus: list[int], why: str
    ) -> Enforcement:
        return BestEffortEnforcement(
            replica_id,
            limits,
            cpus=cpus,
            why=why,
            gpus=devices,
            on_release=lambda: self._free(replica_id),
            proc=self._proc,
            interval_s=self._interval_s,
        )

    def _free(self, replica_id: str) -> None:
        self.cpus.release(replica_id)
        self.gpus.release(replica_id)

    def sweep(self, keep: Collection[str]) -> list[str]:
        """Remove empty replica cgroups left by replicas not in ``keep``; returns their names."""
        if self.hierarchy is None:
            return []
        names: set[str] = set()
        for own in self.hierarchy.dirs():
            with contextlib.suppress(OSError):
                names.update(p.name for p in (own / BASE_DIR).iterdir() if p.is_dir())
        removed: list[str] = []
        for name in sorted(names - set(keep)):
            with contextlib.suppress(CgroupError):
                if CgroupSet(self.hierarchy, name).remove(timeout_s=0):
                    removed.append(name)
        return removed

    def close(self) -> None:
        """Remove ``<own>/shipyard`` where no replica cgroup is left; never raises."""
        if self.hierarchy is not None:
            remove_base(self.hierarchy)


def detect_enforcer(
    *,
    force_best_effort: bool = False,
    gpus: GpuInventory | None = None,
    proc: Path = procfs.PROC,
    root: Path = Path("/"),
    cpus: Sequence[int] | None = None,
    watch_interval_s: float = 0.25,
) -> Enforcer:
    """The enforcer for this process: cgroups beneath our own when we can create them.

    Args:
        force_best_effort: skip cgroups even where they work (a setting).
        gpus: the node's GPU inventory (none when omitted).
        proc: the procfs root (``/proc``); a fake tree in tests.
        root: prefixed to the cgroup mount points of ``mountinfo`` (a fake tree in tests).
        cpus: CPUs replicas may be pinned to in best-effort mode (default: our affinity).
        watch_interval_s: the best-effort memory sampling interval.
    """
    hierarchy, why = (None, "forced by configuration") if force_best_effort else (None, "")
    if not force_best_effort:
        hierarchy, why = detect_hierarchy(proc, root)
    if hierarchy is not None:
        try:
            for own in hierarchy.dirs():
                prepare_base(hierarchy, own)
        except CgroupError as exc:
            hierarchy, why = None, exc.message
    enforcer = Enforcer(
        hierarchy, why=why, gpus=gpus, cpus=cpus, proc=proc, watch_interval_s=watch_interval_s
    )
    log.info("replica limits: %s", enforcer.note)
    return enforcer
