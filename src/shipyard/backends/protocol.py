"""The one interface between the controller and the places replicas run.

All side effects of reconciliation go through a ``ReplicaBackend``; the controller never spawns,
signals or probes anything itself. ``start`` returns at once (the replica loads in the
background); ``health`` tells how it is doing; ``list`` recovers what is running after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.capacity import Capacity
from shipyard.spec.resources import ComponentResources
from shipyard.spec.status import ReplicaExit
from shipyard.wire.addresses import unix_url


@dataclass(frozen=True)
class ReplicaSpec:
    """Everything a backend needs to start one replica of one component."""

    replica_id: str
    deployment_id: str
    deployment_name: str
    project_id: str
    component: str
    slot: int
    revision: int
    template: str  # hash of what the replica runs; a change means a replacement
    model_name: str
    model_version: int
    model_dir: Path
    framework: str
    script_file: str | None
    resources: ComponentResources
    python: str | None = None  # interpreter of the environment; None = the server's own
    runtime_path: Path | None = None  # folder with the replica runtime, put on PYTHONPATH
    batching: InferenceBatcher | None = None  # adaptive batching (predictors)


@dataclass(frozen=True)
class ReplicaRef:
    """A handle on a started replica, enough to find it again after a restart."""

    replica_id: str
    deployment_id: str
    component: str
    slot: int
    revision: int
    template: str
    url: str
    pid: int | None = None
    started_at: float = 0.0  # wall-clock seconds
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def data_url(self) -> str:
        """Where the gateway sends requests: the replica's Unix socket when it serves on one
        too (``extra["socket"]``, see :mod:`shipyard.wire.addresses`), else :attr:`url`."""
        socket = self.extra.get("socket")
        return unix_url(socket) if socket else self.url


class Health(StrEnum):
    STARTING = "STARTING"
    READY = "READY"
    EXITED = "EXITED"


@dataclass(frozen=True)
class ReplicaHealth:
    health: Health
    exit: ReplicaExit | None = None


@dataclass(frozen=True)
class UsageSample:
    """Cumulative CPU time and memory of one replica, as measured by its backend."""

    cpu_seconds: float | None
    memory_bytes: int | None
    memory_peak_bytes: int | None
    enforcement: str = ""  # how its limits are enforced ("cgroup-v1", "best-effort", ...)
    note: str = ""
    cpus: tuple[int, ...] = ()  # the CPUs it is pinned to; () = not pinned


@dataclass(frozen=True)
class LogLine:
    replica_id: str
    line: str


class ReplicaBackend(Protocol):
    async def start(self, spec: ReplicaSpec) -> ReplicaRef: ...

    async def stop(self, ref: ReplicaRef, *, grace_s: float) -> ReplicaExit: ...

    async def list_replicas(self) -> list[ReplicaRef]: ...

    def discard(self, ref: ReplicaRef) -> None: ...

    async def health(self, ref: ReplicaRef) -> ReplicaHealth: ...

    def usage(self, ref: ReplicaRef) -> UsageSample | None: ...

    def capacity(self) -> Capacity | None:
        """What the node can hand out to replica requests (None: the backend schedules)."""
        ...

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]: ...

    def forget_logs(self, deployment_id: str) -> None: ...

    async def close(self) -> None: ...
