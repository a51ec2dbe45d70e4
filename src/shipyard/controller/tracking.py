"""The controller's observed state of replicas: each replica it knows (:class:`Tracked`) and the
failure history of each slot (:class:`SlotRecord`); both live in a deployment's
:class:`~shipyard.controller.state.Managed` state."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shipyard.backends.protocol import ReplicaRef, UsageSample
from shipyard.controller.plan import ReplicaView, StopReason
from shipyard.spec.capacity import Demand
from shipyard.spec.deployment import Component, DeploymentSpec, ServingTool
from shipyard.spec.resources import ComponentResources
from shipyard.spec.status import ReplicaExit, ReplicaPhase, ReplicaStatus, ReplicaUsage

STABLE_AFTER_S = 10.0  # a replica ready this long resets its slot's failure count
USAGE_EVERY_S = 2.0  # usage is sampled at most this often (statuses are rewritten on change)


def _mib(value: int | None) -> float | None:
    return round(value / (1024 * 1024), 1) if value is not None else None


@dataclass
class Tracked:
    """One replica as the controller knows it."""

    ref: ReplicaRef
    phase: ReplicaPhase
    started_mono: float
    demand: Demand = field(default_factory=Demand)  # its requests, held until it is gone
    usage: ReplicaUsage | None = None
    progress: str | None = None  # what it waits for while STARTING, as its backend says
    _cpu_mark: tuple[float, float] | None = None  # (cpu seconds, monotonic time) last sampled
    _throttle_mark: tuple[int, int] | None = None  # (periods, throttled periods) last sampled
    _sampled_at: float = float("-inf")

    def sample(
        self, used: UsageSample | None, resources: ComponentResources | None, now: float
    ) -> None:
        """Turn a cumulative backend sample into a usage figure (at most every few seconds)."""
        if used is None or now - self._sampled_at < USAGE_EVERY_S:
            return
        cores = None
        if used.cpu_seconds is not None:
            if self._cpu_mark is not None and now > self._cpu_mark[1]:
                cores = round((used.cpu_seconds - self._cpu_mark[0]) / (now - self._cpu_mark[1]), 2)
            self._cpu_mark = (used.cpu_seconds, now)
        elif used.cpu_cores is not None:  # averaged by the source (a cluster's metrics API)
            cores = round(used.cpu_cores, 3)
        self._sampled_at = now
        throttled = self._throttled(used)
        self.usage = ReplicaUsage(
            cpu_cores=max(0.0, cores) if cores is not None else None,
            memory_mb=_mib(used.memory_bytes),
            memory_peak_mb=_mib(used.memory_peak_bytes),
            requests=used.requests or (resources.requests if resources else None),
            limits=used.limits or (resources.limits if resources else None),
            enforcement=used.enforcement,
            cpus=list(used.cpus),
            cpu_throttled=throttled,
        )

    def _throttled(self, used: UsageSample) -> float | None:
        """Share of the CFS periods since the last sample in which the quota stopped it."""
        if used.cpu_periods is None or used.cpu_throttled is None:
            return None
        mark, self._throttle_mark = self._throttle_mark, (used.cpu_periods, used.cpu_throttled)
        if mark is None:
            return None
        periods = used.cpu_periods - mark[0]
        return round((used.cpu_throttled - mark[1]) / periods, 3) if periods > 0 else 0.0

    ready_since: float | None = None  # monotonic, while it stays ready
    ready_at: datetime | None = None  # when it first became ready
    stop_reason: StopReason | None = None  # set when the controller asked it to stop
    by_component: bool = False  # reported by a component backend (the controller plans nothing)
    tool: ServingTool = ServingTool.LOCAL  # whose backend runs it

    def view(self) -> ReplicaView:
        return ReplicaView(
            replica_id=self.ref.replica_id,
            deployment_id=self.ref.deployment_id,
            component=self.ref.component,
            slot=self.ref.slot,
            template=self.ref.template,
            phase=self.phase,
            started_at=self.started_mono,
        )

    def status(self, restarts: int, last_exit: ReplicaExit | None) -> ReplicaStatus:
        started = datetime.fromtimestamp(self.ref.started_at, UTC) if self.ref.started_at else None
        return ReplicaStatus(
            id=self.ref.replica_id,
            component=self.ref.component,
            slot=self.ref.slot,
            revision=self.ref.revision,
            phase=self.phase,
            pid=self.ref.pid,
            url=self.ref.url,
            restarts=restarts,
            started_at=started,
            ready_at=self.ready_at,
            last_exit=last_exit,
            usage=self.usage,
        )


@dataclass
class SlotRecord:
    """Failure history of one slot (a position among a component's instances).

    ``failures`` counts consecutive failures of replicas running ``template``; it is forgiven
    (:meth:`forgive`) once a replica of the current template is READY in the slot, or when the
    current template is another one (an update or a rollback), or when the deployment stops.
    ``restarts`` and ``last_exit`` stay as history.
    """

    failures: int = 0
    restarts: int = 0
    retry_at: float = 0.0
    last_exit: ReplicaExit | None = None
    template: str | None = None  # what the failing replicas ran

    def record_failure(
        self,
        exit_: ReplicaExit,
        *,
        template: str,
        ready_for: float,
        now: float,
        base_s: float,
        max_s: float,
    ) -> None:
        if template != self.template or ready_for >= STABLE_AFTER_S:
            self.failures = 0
        self.template = template
        self.failures += 1
        self.restarts += 1
        self.last_exit = exit_
        self.retry_at = now + min(max_s, base_s * 2 ** (self.failures - 1))

    def forgive(self) -> None:
        """Failures no longer count (the slot is fixed, or runs something else now)."""
        self.failures = 0
        self.retry_at = 0.0


def template_hash(spec: DeploymentSpec, component: Component, storage_path: str) -> str:
    """A digest of what a replica of ``component`` runs; instance counts and autoscaling
    settings are left out (changing them never replaces a running replica)."""
    if component is Component.PREDICTOR:
        body = spec.predictor.model_dump(mode="json")
    else:
        assert spec.transformer is not None
        body = spec.transformer.model_dump(mode="json")
    body["resources"].pop("num_instances", None)
    body.pop("scaling", None)
    text = json.dumps({"c": component.value, "s": body, "p": storage_path}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def component_resources(spec: DeploymentSpec, component: str) -> ComponentResources | None:
    """The resources of ``component`` in ``spec`` (None when the spec has no such component)."""
    if component == Component.PREDICTOR.value:
        return spec.predictor.resources
    if component == Component.TRANSFORMER.value and spec.transformer is not None:
        return spec.transformer.resources
    return None
