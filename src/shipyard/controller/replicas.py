"""Probing and stopping the replicas the controller started (replica-shaped backends).

Each pass, :meth:`Replicas.observe` asks every watched replica's backend how it is doing: an
exit counts as a failure of its slot (the slot then restarts after a backoff), a READY replica
is sampled for usage. :meth:`Replicas.stop` takes a replica out of service: it is dropped from
the routing table first, and stopped (SIGTERM, drain, SIGKILL after the grace) once the
gateways applied the table without it, or after :data:`GATEWAY_CATCH_UP_S`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from shipyard.backends.protocol import Health, ReplicaBackend
from shipyard.backends.registry import BackendRegistry, ReplicaShape
from shipyard.controller.admission import Admission
from shipyard.controller.clock import Clock
from shipyard.controller.coldstart import ColdStarts
from shipyard.controller.plan import StopReason
from shipyard.controller.routes import RoutePublisher
from shipyard.controller.state import Managed
from shipyard.controller.tracking import Tracked, component_resources
from shipyard.settings import ServerSettings
from shipyard.spec.status import ReplicaExit, ReplicaPhase

log = logging.getLogger("shipyard.controller")
GATEWAY_CATCH_UP_S = 2.0  # longest a stop waits for the gateways to drop the replica


class Replicas:
    """Health probes, usage samples, exits and stops of replicas the controller runs."""

    def __init__(
        self,
        *,
        backends: BackendRegistry,
        settings: ServerSettings,
        admission: Admission,
        routes: RoutePublisher,
        clock: Clock,
        notify: Callable[[], None],
        cold_starts: ColdStarts | None = None,
    ) -> None:
        self._cold = cold_starts or ColdStarts()
        self._backends = backends
        self._settings = settings
        self._admission = admission
        self._routes = routes
        self._clock = clock
        self._notify = notify
        self.stopping: set[asyncio.Task[None]] = set()
        """Background stops in flight."""

    async def observe(self, deployments: dict[str, Managed]) -> None:
        """Probe every replica the controller started and still watches."""
        watched = [
            (m, t)
            for m in deployments.values()
            for t in m.replicas.values()
            if t.stop_reason is None and not t.by_component
        ]
        healths = await asyncio.gather(
            *(self.backend_of(t).health(t.ref) for _, t in watched), return_exceptions=True
        )
        now = self._clock()
        for (managed, tracked), health in zip(watched, healths, strict=True):
            if isinstance(health, BaseException):
                log.warning("probing %s failed: %r", tracked.ref.replica_id, health)
                continue
            if health.health is Health.EXITED:
                self._record_exit(managed, tracked, health.exit or ReplicaExit(reason="Exited"))
                self._cold.gone(tracked.ref.replica_id)
                self.backend_of(tracked).discard(tracked.ref)
                del managed.replicas[tracked.ref.replica_id]
                continue
            if health.url is not None and health.url != tracked.ref.url:
                tracked.ref = dataclasses.replace(tracked.ref, url=health.url)
            self._sample(managed, tracked, now)
            if health.health is Health.READY:
                tracked.phase = ReplicaPhase.READY
                if tracked.ready_since is None:
                    tracked.ready_since = now
                    if tracked.ready_at is None:  # its first readiness ends its cold start
                        tracked.ready_at = self._clock.to_wall(now)
                        wall = tracked.ready_at.timestamp()
                        rid = tracked.ref.replica_id
                        self._cold.ready(rid, now, wall, dict(health.timings))
            else:
                tracked.phase = ReplicaPhase.STARTING
                tracked.ready_since = None
            tracked.progress = health.progress if health.health is Health.STARTING else None

    def backend_of(self, tracked: Tracked) -> ReplicaBackend:
        shape = self._backends.get(tracked.tool)
        assert isinstance(shape, ReplicaShape)
        return shape.backend

    def _sample(self, managed: Managed, tracked: Tracked, now: float) -> None:
        spec = managed.spec
        resources = component_resources(spec, tracked.ref.component) if spec else None
        used = self.backend_of(tracked).usage(tracked.ref)
        tracked.sample(used, resources, now)
        if used is not None and used.enforcement == "best-effort":
            managed.limits_note = used.note

    def _record_exit(self, managed: Managed, tracked: Tracked, exit_: ReplicaExit) -> None:
        ref = tracked.ref
        now = self._clock()
        ready_for = now - tracked.ready_since if tracked.ready_since is not None else 0.0
        self._admission.record_failure(
            managed, ref.component, ref.slot, ref.template, exit_, ready_for=ready_for
        )
        log.warning("replica %s exited: %s %s", ref.replica_id, exit_.reason, exit_.message)

    def stop(
        self,
        managed: Managed,
        tracked: Tracked,
        reason: StopReason,
        *,
        wait_gateway: bool = True,
    ) -> None:
        tracked.stop_reason = reason
        tracked.phase = ReplicaPhase.STOPPING
        version = self._routes.version
        backend = self.backend_of(tracked)

        async def stop() -> None:
            if wait_gateway:
                await self._routes.caught_up(version, GATEWAY_CATCH_UP_S)
            exit_ = await backend.stop(tracked.ref, grace_s=self._settings.stop_grace_s)
            managed.replicas.pop(tracked.ref.replica_id, None)
            if reason is StopReason.START_TIMEOUT:
                timeout = ReplicaExit(
                    reason="StartTimeout",
                    message=f"not ready after {self._settings.replica_start_timeout_s:g} s",
                )
                ref = tracked.ref
                self._admission.record_failure(
                    managed, ref.component, ref.slot, ref.template, timeout
                )
            log.info("stopped replica %s (%s): %s", tracked.ref.replica_id, reason, exit_.message)
            self._notify()

        task = asyncio.get_running_loop().create_task(stop())
        self.stopping.add(task)
        task.add_done_callback(self.stopping.discard)
