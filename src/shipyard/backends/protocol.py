"""The interfaces between the controller and the places replicas run, in two shapes.

All side effects of reconciliation go through a backend; the controller never spawns, signals or
probes anything itself. A serving tool's backend has one of two shapes (see
:mod:`shipyard.backends.registry`, which maps each tool to its backend):

- :class:`ReplicaBackend` (LOCAL, DOCKER): runs single replicas that the controller plans slot by
  slot. ``start`` returns at once (the replica loads in the background); ``health`` tells how it
  is doing; ``list_replicas`` recovers what is running after a restart.
- :class:`ComponentBackend` (KUBERNETES, KSERVE): owns a whole component (its replicas, restarts
  and rollout); the controller says what the component should be (``apply``, ``remove``) and
  reads back its replicas (``observe``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.capacity import Capacity
from shipyard.spec.environment import EnvironmentInfo
from shipyard.spec.resources import ComponentResources, Resources
from shipyard.spec.scaling import ScalingConfig
from shipyard.spec.status import Condition, ReplicaExit
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

    def ref(
        self, url: str, *, pid: int | None = None, extra: dict[str, str] | None = None
    ) -> ReplicaRef:
        """The handle of this replica once started at ``url``, started now."""
        return ReplicaRef(
            replica_id=self.replica_id,
            deployment_id=self.deployment_id,
            component=self.component,
            slot=self.slot,
            revision=self.revision,
            template=self.template,
            url=url,
            pid=pid,
            started_at=time.time(),
            extra=extra or {},
        )


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
    url: str | None = None  # where it serves, once learnt (it bound a port of its own choice)
    timings: tuple[tuple[str, float], ...] = ()  # the runtime's own load phases, when READY
    progress: str | None = None  # what a STARTING replica waits for (e.g. its image's build step)


@dataclass(frozen=True)
class UsageSample:
    """Cumulative CPU time and memory of one replica, as measured by its backend."""

    cpu_seconds: float | None
    memory_bytes: int | None
    memory_peak_bytes: int | None
    enforcement: str = ""  # how its limits are enforced ("cgroup-v1", "best-effort", ...)
    note: str = ""
    cpus: tuple[int, ...] = ()  # the CPUs it is pinned to; () = not pinned
    requests: Resources | None = None  # what it was given, read back (None: unknown)
    limits: Resources | None = None  # what it runs with, read back (e.g. the cgroup's limits)
    cpu_periods: int | None = None  # cumulative CFS periods under a quota (None: not measured)
    cpu_throttled: int | None = None  # cumulative periods in which the quota stopped it
    cpu_cores: float | None = None  # cores used, averaged by the source itself (a cluster's
    # metrics API) when it gives no cumulative ``cpu_seconds``


@dataclass(frozen=True)
class LogLine:
    replica_id: str
    line: str


class ReplicaBackend(Protocol):
    """Runs single replicas; the controller plans them (slots, restarts, rollouts)."""

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


@dataclass(frozen=True)
class ComponentSpec:
    """Everything a component backend needs to run one whole component of a deployment."""

    deployment_id: str
    deployment_name: str
    project_id: str
    component: str
    revision: int
    template: str  # hash of what its replicas run; a change means a rollout
    instances: int  # wanted now (the controller's autoscaling decision, or the fixed count)
    model_name: str
    model_version: int
    model_dir: Path
    framework: str
    script_file: str | None
    resources: ComponentResources
    scaling: ScalingConfig | None = None  # the user's autoscaling settings, for tools that scale
    batching: InferenceBatcher | None = None
    environment: EnvironmentInfo | None = None  # its built environment (base image, lock)


@dataclass(frozen=True)
class ObservedReplica:
    """One replica of a component, as its component backend reports it."""

    replica_id: str
    slot: int
    revision: int
    template: str
    health: Health
    url: str  # where the gateway sends requests
    started_at: float = 0.0  # wall-clock seconds
    ready_at: float | None = None  # wall-clock seconds
    failures: int = 0  # consecutive failed starts (a crash loop when many)
    restarts: int = 0
    last_exit: ReplicaExit | None = None
    usage: UsageSample | None = None
    unschedulable: str | None = None  # why it waits to be placed (the scheduler's message)


@dataclass(frozen=True)
class ComponentReport:
    """What a component backend says of a whole deployment besides its replicas."""

    conditions: tuple[Condition, ...] = ()  # added to the four (e.g. APPLIED on a cluster)
    notes: tuple[str, ...] = ()  # shown once in the status (e.g. "this cluster has no ...")
    addresses: Mapping[str, str] = field(default_factory=dict)
    """Where the serving tool itself serves the deployment, by name (``url``: a KServe
    InferenceService's URL; ``predictor``/``transformer``: their in-cluster addresses)."""


class ComponentBackend(Protocol):
    """Owns whole components (replicas, restarts, rollouts); the controller states intent."""

    async def apply(self, spec: ComponentSpec) -> None:
        """Make the component be ``spec`` (idempotent: called on every pass)."""
        ...

    async def remove(self, deployment_id: str, component: str) -> None:
        """Stop and remove the component (idempotent)."""
        ...

    async def observe(self, deployment_id: str, component: str) -> list[ObservedReplica]:
        """Its replicas now (none once removed)."""
        ...

    async def list_components(self) -> list[tuple[str, str]]:
        """(deployment id, component) of everything it runs (recovery after a restart)."""
        ...

    def capacity(self) -> Capacity | None:
        """What it may hand out (a quota), None when it does not say."""
        ...

    def report(self, deployment_id: str) -> ComponentReport:
        """Deployment-wide facts of the last ``apply``/``observe`` (conditions, notes,
        addresses); an empty report when it has none."""
        ...

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]: ...

    def forget_logs(self, deployment_id: str) -> None: ...

    async def close(self) -> None: ...
