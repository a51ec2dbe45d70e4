"""In-memory backends for tests, one of each shape: replicas are records whose health the test
controls. :class:`FakeBackend` runs single replicas (as LOCAL and DOCKER do);
:class:`FakeComponentBackend` owns whole components (as KUBERNETES and KSERVE do)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass, field

from shipyard.backends.protocol import (
    ComponentReport,
    ComponentSpec,
    Health,
    LogLine,
    ObservedReplica,
    ReplicaHealth,
    ReplicaRef,
    ReplicaSpec,
    UsageSample,
)
from shipyard.spec.capacity import Capacity
from shipyard.spec.status import ReplicaExit


@dataclass
class FakeReplica:
    spec: ReplicaSpec
    ref: ReplicaRef
    health: Health = Health.STARTING
    exit: ReplicaExit | None = None
    logs: list[str] = field(default_factory=list)
    usage: UsageSample | None = None


class FakeBackend:
    """Starts nothing; replicas become READY at once unless ``auto_ready`` is False."""

    def __init__(
        self, *, auto_ready: bool = True, fail_start: bool = False, capacity: Capacity | None = None
    ) -> None:
        self.auto_ready = auto_ready
        self.node = capacity
        self.fail_start = fail_start
        self.replicas: dict[str, FakeReplica] = {}
        self.started: list[str] = []
        self.stopped: list[str] = []
        self._ports = itertools.count(20000)

    async def start(self, spec: ReplicaSpec) -> ReplicaRef:
        if self.fail_start:
            raise OSError("fake start failure")
        ref = spec.ref(f"http://127.0.0.1:{next(self._ports)}")
        health = Health.READY if self.auto_ready else Health.STARTING
        self.replicas[spec.replica_id] = FakeReplica(spec=spec, ref=ref, health=health)
        self.started.append(spec.replica_id)
        return ref

    def crash(self, replica_id: str, exit_: ReplicaExit | None = None) -> None:
        replica = self.replicas[replica_id]
        replica.health = Health.EXITED
        replica.exit = exit_ or ReplicaExit(code=1, reason="Error", message="exited with code 1")

    def set_health(self, replica_id: str, health: Health) -> None:
        self.replicas[replica_id].health = health

    async def stop(self, ref: ReplicaRef, *, grace_s: float) -> ReplicaExit:
        self.replicas.pop(ref.replica_id, None)
        self.stopped.append(ref.replica_id)
        return ReplicaExit(code=0, reason="Completed")

    def discard(self, ref: ReplicaRef) -> None:
        self.replicas.pop(ref.replica_id, None)

    async def list_replicas(self) -> list[ReplicaRef]:
        return [r.ref for r in self.replicas.values()]

    async def health(self, ref: ReplicaRef) -> ReplicaHealth:
        replica = self.replicas.get(ref.replica_id)
        if replica is None:
            return ReplicaHealth(Health.EXITED, ReplicaExit(reason="Exited"))
        return ReplicaHealth(replica.health, replica.exit)

    def usage(self, ref: ReplicaRef) -> UsageSample | None:
        replica = self.replicas.get(ref.replica_id)
        return replica.usage if replica is not None else None

    def capacity(self) -> Capacity | None:
        return self.node

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        out = [
            LogLine(replica_id=r.ref.replica_id, line=line)
            for r in self.replicas.values()
            if r.ref.deployment_id == deployment_id and r.ref.component == component
            for line in r.logs[-tail:]
        ]
        return out

    def forget_logs(self, deployment_id: str) -> None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class FakeComponent:
    spec: ComponentSpec
    replicas: list[ObservedReplica] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


class FakeComponentBackend:
    """Keeps the last applied spec of each component; its replicas are READY at once (unless
    ``auto_ready`` is False) and follow the spec's template and instance count, as a cluster's
    rollout would. ``crash_loop`` makes a component's replicas report failures instead;
    ``reports`` holds what ``report`` says of a deployment (empty by default)."""

    def __init__(self, *, auto_ready: bool = True, capacity: Capacity | None = None) -> None:
        self.auto_ready = auto_ready
        self.quota = capacity
        self.components: dict[tuple[str, str], FakeComponent] = {}
        self.applied: list[ComponentSpec] = []
        self.removed: list[tuple[str, str]] = []
        self.reports: dict[str, ComponentReport] = {}
        self._ids = itertools.count(1)

    async def apply(self, spec: ComponentSpec) -> None:
        key = (spec.deployment_id, spec.component)
        current = self.components.get(key)
        if current is not None and current.spec == spec:
            return
        self.applied.append(spec)
        kept = [
            r
            for r in (current.replicas if current is not None else [])
            if r.template == spec.template and r.slot < spec.instances
        ]
        have = {r.slot for r in kept}
        health = Health.READY if self.auto_ready else Health.STARTING
        for slot in range(spec.instances):
            if slot not in have:
                kept.append(self._replica(spec, slot, health))
        logs = current.logs if current is not None else []
        self.components[key] = FakeComponent(
            spec=spec, replicas=sorted(kept, key=lambda r: r.slot), logs=logs
        )

    def _replica(self, spec: ComponentSpec, slot: int, health: Health) -> ObservedReplica:
        now = time.time()
        return ObservedReplica(
            replica_id=f"{spec.deployment_name}-{spec.component[0]}{slot}-{next(self._ids)}",
            slot=slot,
            revision=spec.revision,
            template=spec.template,
            health=health,
            url=f"http://fake-cluster/{spec.deployment_name}/{spec.component}/{slot}",
            started_at=now,
            ready_at=now if health is Health.READY else None,
        )

    def set_health(self, deployment_id: str, component: str, health: Health) -> None:
        """Every replica of a component becomes ``health``."""
        entry = self.components[(deployment_id, component)]
        now = time.time()
        entry.replicas = [
            dataclasses.replace(r, health=health, ready_at=now if health is Health.READY else None)
            for r in entry.replicas
        ]

    def crash_loop(self, deployment_id: str, component: str, failures: int) -> None:
        """Its replicas keep failing to start, as a cluster reports a crash loop."""
        entry = self.components[(deployment_id, component)]
        exit_ = ReplicaExit(code=1, reason="Error", message="exited with code 1")
        entry.replicas = [
            dataclasses.replace(
                r, health=Health.STARTING, ready_at=None, failures=failures, restarts=failures,
                last_exit=exit_,
            )
            for r in entry.replicas
        ]  # fmt: skip

    async def remove(self, deployment_id: str, component: str) -> None:
        if self.components.pop((deployment_id, component), None) is not None:
            self.removed.append((deployment_id, component))

    async def observe(self, deployment_id: str, component: str) -> list[ObservedReplica]:
        entry = self.components.get((deployment_id, component))
        return list(entry.replicas) if entry is not None else []

    async def list_components(self) -> list[tuple[str, str]]:
        return sorted(self.components)

    def capacity(self) -> Capacity | None:
        return self.quota

    def report(self, deployment_id: str) -> ComponentReport:
        return self.reports.get(deployment_id, ComponentReport())

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        entry = self.components.get((deployment_id, component))
        if entry is None:
            return []
        name = f"{entry.spec.deployment_name}-{component}"
        return [LogLine(replica_id=name, line=line) for line in entry.logs[-tail:]]

    def forget_logs(self, deployment_id: str) -> None:
        return None

    async def close(self) -> None:
        return None
