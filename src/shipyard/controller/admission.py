"""Admission and starting of planned replicas (replica-shaped backends).

The plan says which slots need a replica; admission decides which of them start now: a start
waits for its component's environment, and for room on its backend's node (its *requests*
against what the node has left once every live replica's requests are counted, see
:mod:`shipyard.controller.scheduling`). What waits records why on its component
(``unschedulable``); the next pass tries again. A start that fails counts as a failure of its
slot, like a crash.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from shipyard.backends.protocol import ReplicaSpec
from shipyard.backends.registry import BackendRegistry, ReplicaShape
from shipyard.controller.coldstart import ColdStarts
from shipyard.controller.plan import StartReplica
from shipyard.controller.scheduling import shortfall
from shipyard.controller.state import Managed
from shipyard.controller.tracking import Tracked, component_resources
from shipyard.environments.manager import EnvironmentManager
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Demand
from shipyard.spec.deployment import Component
from shipyard.spec.environment import EnvironmentPhase
from shipyard.spec.resources import ComponentResources
from shipyard.spec.status import ReplicaExit, ReplicaPhase
from shipyard.store import DeploymentRecord, ModelVersionRecord

log = logging.getLogger("shipyard.controller")


class Admission:
    """Starts what fits, per backend node; the rest waits with its reason."""

    def __init__(
        self,
        *,
        backends: BackendRegistry,
        settings: ServerSettings,
        environments: EnvironmentManager | None,
        clock: Callable[[], float],
        cold_starts: ColdStarts | None = None,
    ) -> None:
        self._cold = cold_starts or ColdStarts()
        self._backends = backends
        self._settings = settings
        self._environments = environments
        self._clock = clock

    async def admit(self, deployments: dict[str, Managed], starts: list[StartReplica]) -> None:
        """Start every planned replica that may start now."""
        for managed in deployments.values():
            if managed.tool is None or isinstance(self._backends.find(managed.tool), ReplicaShape):
                for state in managed.components.values():
                    state.unschedulable = []
        allocated: dict[str, Demand] = {}  # per node inventory (tools may share one)
        for managed in deployments.values():
            for tracked in managed.replicas.values():
                if not tracked.by_component:
                    node = self._backends.node_of(tracked.tool)
                    allocated[node] = allocated.get(node, Demand()) + tracked.demand
        now = self._clock()
        for action in starts:
            managed = deployments[action.deployment_id]
            record, model = managed.record, managed.model
            if record is None or model is None:
                continue
            key = (action.deployment_id, action.component, action.slot)
            self._cold.want(key, now)
            state = managed.component(action.component)
            env = state.environment
            if env is not None and env.phase is not EnvironmentPhase.READY:
                continue  # waits for its environment (its status says how that goes)
            self._cold.environment_ready(key, now)
            tool = record.spec.serving_tool
            resources = component_resources(record.spec, action.component)
            demand = Demand.of(resources.requests) if resources else Demand()
            capacity = self._backends.capacity(tool)
            node = self._backends.node_of(tool)
            used = allocated.get(node, Demand())
            reason = shortfall(capacity, used, demand) if capacity else None
            if reason is not None:
                state.unschedulable.append(f"{action.component} replica {action.slot}: {reason}")
                continue
            allocated[node] = used + demand
            self._cold.admitted(key, now)
            await self._start(managed, record, model, action, demand)

    async def _start(
        self,
        managed: Managed,
        record: DeploymentRecord,
        model: ModelVersionRecord,
        action: StartReplica,
        demand: Demand,
    ) -> None:
        spec = replica_spec(record, action, model)
        env = managed.component(action.component).environment
        if env is not None and env.key is not None and self._environments is not None:
            spec = dataclasses.replace(
                spec,
                python=str(self._environments.python(env.key)),
                runtime_path=self._environments.runtime_path,
            )
        shape = self._backends.get(record.spec.serving_tool)
        assert isinstance(shape, ReplicaShape)
        key = (record.id, action.component, action.slot)
        try:
            ref = await shape.backend.start(spec)
        except Exception as exc:
            self._cold.failed(key)
            log.exception("starting %s failed", spec.replica_id)
            exit_ = ReplicaExit(reason="StartError", message=f"{type(exc).__name__}: {exc}")
            self.record_failure(managed, action.component, action.slot, action.template, exit_)
            return
        self._cold.spawned(key, ref.replica_id, self._clock())
        managed.replicas[ref.replica_id] = Tracked(
            ref=ref,
            phase=ReplicaPhase.STARTING,
            started_mono=self._clock(),
            demand=demand,
            tool=shape.tool,
        )

    def record_failure(
        self,
        managed: Managed,
        component: str,
        slot: int,
        template: str,
        exit_: ReplicaExit,
        *,
        ready_for: float = 0.0,
    ) -> None:
        """A replica of this slot, running ``template``, failed (exited, timed out, or could
        not start)."""
        managed.slot(component, slot).record_failure(
            exit_,
            template=template,
            ready_for=ready_for,
            now=self._clock(),
            base_s=self._settings.restart_backoff_s,
            max_s=self._settings.restart_backoff_max_s,
        )


def replica_spec(
    record: DeploymentRecord, action: StartReplica, model: ModelVersionRecord
) -> ReplicaSpec:
    """What a backend needs to start the replica that ``action`` asks for."""
    spec = record.spec
    component = Component(action.component)
    resources: ComponentResources
    if component is Component.PREDICTOR:
        resources = spec.predictor.resources
        script, framework = spec.predictor.script_file, model.framework
        batching = spec.predictor.batching
    else:
        assert spec.transformer is not None
        resources = spec.transformer.resources
        script, framework = spec.transformer.script_file, "python"
        batching = None
    return ReplicaSpec(
        replica_id=f"{record.name}-{component.value[0]}{action.slot}-{uuid.uuid4().hex[:8]}",
        deployment_id=record.id,
        deployment_name=record.name,
        project_id=record.project_id,
        component=component.value,
        slot=action.slot,
        revision=record.revision,
        template=action.template,
        model_name=model.model_name,
        model_version=model.version,
        model_dir=Path(model.storage_path),
        framework=framework,
        script_file=script,
        resources=resources,
        batching=batching,
    )
