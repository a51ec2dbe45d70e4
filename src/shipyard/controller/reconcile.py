"""The reconciler loop: one level-triggered pass compares desired and observed state and acts.

A pass reads every deployment from the store (desired) into its
:class:`~shipyard.controller.state.Managed` state, asks the backends how each replica is doing
(observed), decides targets (:mod:`~shipyard.controller.targets`), plans with the pure ``plan``
function, starts what admission lets through (:mod:`~shipyard.controller.admission`), then
saves each deployment's status (:mod:`~shipyard.controller.assembly`), publishes the gateway's
routing table (:mod:`~shipyard.controller.routes`) and stops what the plan dropped. Deployments
whose serving tool has a component backend are reconciled by
:mod:`~shipyard.controller.components` instead of the plan. Every phase of every deployment runs
inside an error boundary, so one deployment's trouble never stops a pass; each pass's duration
is a Prometheus histogram. The deployments' states live in one
:class:`~shipyard.controller.deployments.Deployments`; after a restart,
:mod:`~shipyard.controller.recovery` rebuilds the observed state from the backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

from shipyard.backends.protocol import LogLine
from shipyard.backends.registry import BackendRegistry
from shipyard.controller.admission import Admission
from shipyard.controller.assembly import assemble
from shipyard.controller.autoscale import initial_state, wake
from shipyard.controller.clock import Clock
from shipyard.controller.coldstart import ColdStarts
from shipyard.controller.deployments import Deployments
from shipyard.controller.plan import ComponentTarget, StartReplica, StopReason, StopReplica, plan
from shipyard.controller.recovery import recover
from shipyard.controller.replicas import Replicas
from shipyard.controller.routes import RoutePublisher, route_entry
from shipyard.controller.state import Managed
from shipyard.controller.targets import Targets, scaling_of
from shipyard.environments.manager import EnvironmentManager
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity, Demand
from shipyard.spec.deployment import ServingTool
from shipyard.spec.status import DeploymentStatus, ReplicaPhase
from shipyard.store import Store

log = logging.getLogger("shipyard.controller")
T = TypeVar("T")

FAST_PASSES_FOR_S = 15.0  # passes every 50 ms this long after a replica starts


class Phase(StrEnum):
    """The parts of a pass that run per deployment, each inside its own error boundary."""

    TARGETS = "targets"
    STATUS = "status"
    PURGE = "purge"


class Controller:
    """Owns one :class:`Managed` state per deployment and drives it toward the desired state."""

    def __init__(
        self,
        *,
        store: Store,
        backends: BackendRegistry,
        settings: ServerSettings,
        environments: EnvironmentManager | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._backends = backends
        self._settings = settings
        self._environments = environments
        self._clock = clock if isinstance(clock, Clock) else Clock(clock)
        if environments is not None:
            environments.set_listener(self.notify)
        self.routes = RoutePublisher(self._clock)
        self._deployments = Deployments()
        self._targets = Targets(
            store=store, backends=backends, environments=environments, clock=self._clock
        )
        self.cold_starts = ColdStarts()
        """Where each replica start's time went (``controller.coldstart``); read by the API."""
        self._admission = Admission(
            backends=backends,
            settings=settings,
            environments=environments,
            clock=self._clock,
            cold_starts=self.cold_starts,
        )
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._replicas = Replicas(
            backends=backends,
            settings=settings,
            admission=self._admission,
            routes=self.routes,
            clock=self._clock,
            notify=self.notify,
            cold_starts=self.cold_starts,
        )
        self.passes = 0
        self.pass_seconds = Histogram(
            "shipyard_reconcile_pass_seconds", "Duration of a reconcile pass", registry=None
        )
        self.errors = Counter(
            "shipyard_reconcile_errors", "Errors caught per phase", ["phase"], registry=None
        )

    @property
    def stopping(self) -> set[asyncio.Task[None]]:
        """Background stops in flight (a replica is stopped once the gateways dropped it)."""
        return self._replicas.stopping

    # -- what the API asks ----------------------------------------------------------------

    def snapshot(self) -> list[tuple[str, str, DeploymentStatus]]:
        """(project id, deployment name, last status) of every deployment, for metrics."""
        return [
            (m.record.project_id, m.record.name, m.status)
            for m in self._deployments.values()
            if m.record is not None and m.status is not None
        ]

    def capacity(self, tool: ServingTool) -> Capacity | None:
        """What ``tool``'s node (or quota) can hand out; None when not limited or unknown."""
        return self._backends.capacity(tool)

    def allocated(self, tool: ServingTool) -> list[tuple[str, str, Demand]]:
        """(deployment id, name, requests) of every replica holding capacity on ``tool``'s
        node."""
        return [
            (m.id, m.record.name if m.record else m.id, t.demand)
            for m in self._deployments.values()
            for t in m.replicas.values()
            if self._backends.node_of(t.tool) == self._backends.node_of(tool) and not t.by_component
        ]

    @property
    def tools(self) -> frozenset[ServingTool]:
        return self._backends.tools

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        """The last ``tail`` log lines of each replica of a component (from its backend)."""
        managed = self._deployments.get(deployment_id)
        tool = managed.tool if managed is not None else None
        return self._backends.logs(tool, deployment_id, component, tail)

    # -- loop -------------------------------------------------------------------------------

    def notify(self) -> None:
        """Ask for a pass now (after a change of desired state); safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._wake.set()  # not running yet: the first pass comes anyway
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Recover, then reconcile on every change and every interval, until cancelled."""
        self._loop = asyncio.get_running_loop()
        await self.recover()
        while True:
            self._wake.clear()
            try:
                await self.reconcile_once()
            except Exception:  # the loop must never die
                log.exception("reconcile pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._next_pass_in())

    def _next_pass_in(self) -> float:
        """Soon while a replica is in the first seconds of its start (a cold start may be waiting
        on it), else the interval: a slow loader does not keep the loop spinning."""
        now = self._clock()
        starting = any(
            t.phase is ReplicaPhase.STARTING
            and t.stop_reason is None
            and not t.by_component
            and now - t.started_mono < FAST_PASSES_FOR_S
            for m in self._deployments.values()
            for t in m.replicas.values()
        )
        interval = self._settings.reconcile_interval_s
        return min(interval, 0.05) if starting else interval

    # -- traffic and autoscaling --------------------------------------------------------------

    def record_traffic(self, reports: list[dict[str, Any]], *, gateway: str = "0") -> None:
        """Cumulative counters per deployment from one gateway (``/internal/traffic``)."""
        now = self._clock()
        for report in reports:
            project, name = str(report.get("project_id")), str(report.get("name"))
            managed = self._deployments.by_name(project, name)
            if managed is not None:
                managed.traffic.record(
                    requests=int(report.get("requests", 0)),
                    busy_s=float(report.get("busy_s", 0.0)),
                    in_flight=int(report.get("in_flight", 0)),
                    now=now,
                    gateway=gateway,
                )

    def wake(self, project_id: str, name: str) -> bool:
        """A request waits for deployment ``name`` at zero instances: bring one replica now."""
        managed = self._deployments.by_name(project_id, name)
        if managed is None or managed.record is None:
            return False
        now = self._clock()
        for component in managed.record.spec.components():
            if scaling_of(managed.record.spec, component) is not None:
                state = managed.component(component)
                state.scale = wake(state.scale or initial_state(0, now), now)
        self.notify()
        return True

    def logger_health(self, project_id: str, name: str, problem: str | None) -> bool:
        """The gateway reports whether deployment ``name``'s inference-log sink works."""
        managed = self._deployments.by_name(project_id, name)
        if managed is None:
            return False
        if managed.logger_problem != problem:
            managed.logger_problem = problem
            self.notify()
        return True

    # -- recovery and shutdown ----------------------------------------------------------------

    async def recover(self) -> None:
        """Adopt replicas that still run (after a restart); forget those that are gone."""
        await recover(
            self._deployments, store=self._store, backends=self._backends, clock=self._clock
        )

    async def shutdown(self, *, stop_replicas: bool) -> None:
        """Wait for pending stops; stop every replica too when asked (clean server exit)."""
        if stop_replicas:
            for managed in self._deployments.values():
                for tracked in list(managed.replicas.values()):
                    if tracked.stop_reason is None and not tracked.by_component:
                        self._replicas.stop(
                            managed, tracked, StopReason.SHUTDOWN, wait_gateway=False
                        )
        if self._replicas.stopping:
            await asyncio.gather(*self._replicas.stopping, return_exceptions=True)
        if self._environments is not None:
            await self._environments.close()
        await self._backends.close()

    # -- one pass ---------------------------------------------------------------------------

    async def _guarded(self, managed: Managed, phase: Phase, work: Awaitable[T]) -> T | None:
        """Run one phase of one deployment; its failure is logged and counted, never raised."""
        try:
            return await work
        except Exception:
            self.errors.labels(phase=phase.value).inc()
            name = managed.record.name if managed.record is not None else managed.id
            log.exception("reconciling %s failed (%s)", name, phase.value)
            return None

    async def reconcile_once(self) -> None:
        started = self._clock()
        self.passes += 1
        records = await asyncio.to_thread(self._store.list_deployments)
        self._deployments.refresh(records)
        await self._replicas.observe(self._deployments)
        targets: list[ComponentTarget] = []
        held: set[str] = set()  # deployments whose targets failed: their replicas are left be
        for managed in list(self._deployments.values()):
            found = await self._guarded(managed, Phase.TARGETS, self._targets.of(managed))
            if found is None:
                held.add(managed.id)
            targets += found or []
        actions = plan(
            targets,
            [
                t.view()
                for m in self._deployments.values()
                if m.id not in held
                for t in m.replicas.values()
                if t.stop_reason is None and not t.by_component
            ],
            retry_at={
                (m.id, c, n): slot.retry_at
                for m in self._deployments.values()
                for (c, n), slot in m.slots.items()
            },
            now=self._clock(),
            start_timeout_s=self._settings.replica_start_timeout_s,
        )
        stops = [a for a in actions if isinstance(a, StopReplica)]
        starts = [a for a in actions if isinstance(a, StartReplica)]
        await self._admission.admit(self._deployments, starts)
        for stop in stops:
            owner = self._deployments.find(stop.replica_id)
            if owner is not None:
                owner[1].stop_reason = stop.reason
                owner[1].phase = ReplicaPhase.STOPPING
        for managed in list(self._deployments.values()):
            if managed.record is not None:
                await self._guarded(managed, Phase.STATUS, self._save_status(managed))
        await self._publish()
        for stop in stops:
            owner = self._deployments.find(stop.replica_id)
            if owner is not None:
                self._replicas.stop(owner[0], owner[1], stop.reason)
        for managed in list(self._deployments.values()):
            await self._guarded(managed, Phase.PURGE, self._purge(managed))
        self.pass_seconds.observe(max(0.0, self._clock() - started))

    # -- publishing -------------------------------------------------------------------------

    async def _publish(self) -> None:
        entries = [route_entry(m) for m in self._deployments.values()]
        keys = await asyncio.to_thread(self._store.key_hashes)
        await self.routes.publish([e for e in entries if e is not None], keys)

    async def _save_status(self, managed: Managed) -> None:
        record = managed.record
        assert record is not None
        current = await self._targets.current_templates(managed)
        status = assemble(managed, current, threshold=self._settings.crashloop_threshold)
        if managed.status != status:
            managed.status = status
            await asyncio.to_thread(self._store.save_status, record.id, status)

    async def _purge(self, managed: Managed) -> None:
        """Forget a deleted deployment once its replicas are gone (and adopted replicas'
        states whose deployment left the store)."""
        record = managed.record
        if managed.replicas:
            return
        if record is None:
            del self._deployments[managed.id]
            return
        if not record.deleting:
            return
        await asyncio.to_thread(self._store.purge_deployment, record.id)
        self._backends.forget_logs(record.id)
        self.cold_starts.forget(record.id)
        del self._deployments[managed.id]
