"""An in-memory backend for tests: replicas are records whose health the test controls."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from shipyard.backends.protocol import (
    Health,
    LogLine,
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
        ref = ReplicaRef(
            replica_id=spec.replica_id,
            deployment_id=spec.deployment_id,
            component=spec.component,
            slot=spec.slot,
            revision=spec.revision,
            template=spec.template,
            url=f"http://127.0.0.1:{next(self._ports)}",
            pid=None,
            started_at=time.time(),
        )
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
