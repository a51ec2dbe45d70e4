"""Recovery after a restart: the observed state rebuilt from what the backends still run.

Part of the reconciler (:meth:`shipyard.controller.reconcile.Controller.recover` runs it once,
before the first pass). Replicas that still run are adopted (their age and readiness kept, so
a restart neither restarts them nor resets their start timeout); those that exited are
forgotten; each deployment's last saved status tells whether it ever started.
"""

from __future__ import annotations

import asyncio
import logging

from shipyard.backends.protocol import Health
from shipyard.backends.registry import BackendRegistry
from shipyard.controller.clock import Clock
from shipyard.controller.deployments import Deployments
from shipyard.controller.tracking import Tracked, component_resources
from shipyard.spec.capacity import Demand
from shipyard.spec.status import DeploymentState, ReplicaPhase
from shipyard.store import Store

log = logging.getLogger("shipyard.controller")
_NEVER_STARTED = (DeploymentState.CREATED, DeploymentState.CREATING)


async def recover(
    deployments: Deployments, *, store: Store, backends: BackendRegistry, clock: Clock
) -> None:
    """Adopt replicas that still run (after a restart); forget those that are gone."""
    now = clock()
    records = await asyncio.to_thread(store.list_deployments)
    deployments.refresh(records)
    for shape in backends.replica_shapes():
        for ref in await shape.backend.list_replicas():
            health = await shape.backend.health(ref)
            if health.health is Health.EXITED:
                shape.backend.discard(ref)
                continue
            age = max(0.0, clock.wall() - ref.started_at)
            ready = health.health is Health.READY
            tracked = Tracked(
                ref=ref,
                phase=ReplicaPhase.READY if ready else ReplicaPhase.STARTING,
                started_mono=now - age,
                tool=shape.tool,
            )
            managed = deployments.managed(ref.deployment_id)
            spec = managed.spec
            resources = component_resources(spec, ref.component) if spec else None
            if resources is not None:
                tracked.demand = Demand.of(resources.requests)
            tracked.ready_since = now if ready else None
            managed.replicas[ref.replica_id] = tracked
            log.info("adopted replica %s (%s)", ref.replica_id, tracked.phase)
    statuses = await asyncio.to_thread(store.get_statuses, [r.id for r in records])
    for dep_id, status in statuses.items():
        managed = deployments.managed(dep_id)
        managed.status = status
        managed.started_before = status.state not in _NEVER_STARTED
