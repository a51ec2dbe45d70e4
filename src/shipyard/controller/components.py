"""Reconciling a deployment whose serving tool has a component backend (KUBERNETES, KSERVE).

Such a backend owns each component whole: its replicas, restarts and rollout. Each pass, the
controller tells it what every component should be (``apply``, or ``remove`` when the deployment
is stopped or deleted) and reads its replicas back (``observe``) into the deployment's
:class:`~shipyard.controller.state.Managed` state, so that status assembly and route publishing
treat them exactly as replicas the controller started itself. The plan never touches them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shipyard.backends.protocol import (
    ComponentBackend,
    ComponentSpec,
    Health,
    ObservedReplica,
    ReplicaRef,
)
from shipyard.controller.state import Managed
from shipyard.controller.tracking import SlotRecord, Tracked, component_resources
from shipyard.spec.deployment import Component, ServingTool
from shipyard.spec.environment import EnvironmentPhase
from shipyard.spec.resources import ComponentResources
from shipyard.spec.status import ReplicaPhase
from shipyard.store import DeploymentRecord, ModelVersionRecord

_PHASES = {
    Health.STARTING: ReplicaPhase.STARTING,
    Health.READY: ReplicaPhase.READY,
    Health.EXITED: ReplicaPhase.EXITED,
}


def component_spec(
    record: DeploymentRecord,
    model: ModelVersionRecord,
    component: Component,
    template: str,
    instances: int,
    managed: Managed,
) -> ComponentSpec:
    """What the component backend should make of ``component``."""
    spec = record.spec
    resources: ComponentResources
    if component is Component.PREDICTOR:
        resources, scaling = spec.predictor.resources, spec.predictor.scaling
        script, framework = spec.predictor.script_file, model.framework
        batching = spec.predictor.batching
    else:
        assert spec.transformer is not None
        resources, scaling = spec.transformer.resources, spec.transformer.scaling
        script, framework, batching = spec.transformer.script_file, "python", None
    return ComponentSpec(
        deployment_id=record.id,
        deployment_name=record.name,
        project_id=record.project_id,
        component=component.value,
        revision=record.revision,
        template=template,
        instances=instances,
        model_name=model.model_name,
        model_version=model.version,
        model_dir=Path(model.storage_path),
        framework=framework,
        script_file=script,
        resources=resources,
        scaling=scaling,
        batching=batching,
        environment=managed.component(component).environment,
    )


async def reconcile_components(
    managed: Managed,
    backend: ComponentBackend,
    tool: ServingTool,
    specs: dict[Component, ComponentSpec],
) -> None:
    """Apply (or remove) every component, then read its replicas back into ``managed``."""
    record = managed.record
    assert record is not None
    for component in Component:
        spec = specs.get(component)
        env = managed.component(component).environment if spec is not None else None
        if spec is None or not managed.running:
            await backend.remove(record.id, component.value)
        elif env is None or env.phase is EnvironmentPhase.READY:
            await backend.apply(spec)
    await observe_components(managed, backend, tool)


async def observe_components(
    managed: Managed, backend: ComponentBackend, tool: ServingTool
) -> None:
    """Replace ``managed``'s replicas and slot records with what the backend reports."""
    replicas: dict[str, Tracked] = {}
    slots: dict[tuple[str, int], SlotRecord] = {}
    for component in Component:
        waiting = managed.component(component).unschedulable
        waiting.clear()
        for observed in await backend.observe(managed.id, component.value):
            if observed.unschedulable:
                waiting.append(
                    f"{component.value} replica {observed.slot}: {observed.unschedulable}"
                )
            replicas[observed.replica_id] = _tracked(managed, component, observed, tool)
            slots[(component.value, observed.slot)] = SlotRecord(
                failures=observed.failures,
                restarts=observed.restarts,
                last_exit=observed.last_exit,
            )
    managed.replicas = replicas
    managed.slots = slots
    managed.report = backend.report(managed.id)


def _tracked(
    managed: Managed, component: Component, observed: ObservedReplica, tool: ServingTool
) -> Tracked:
    known = managed.replicas.get(observed.replica_id)
    ref = ReplicaRef(
        replica_id=observed.replica_id,
        deployment_id=managed.id,
        component=component.value,
        slot=observed.slot,
        revision=observed.revision,
        template=observed.template,
        url=observed.url,
        started_at=observed.started_at,
    )
    tracked = Tracked(
        ref=ref,
        phase=_PHASES[observed.health],
        started_mono=known.started_mono if known is not None else 0.0,
        by_component=True,
        tool=tool,
    )
    if observed.ready_at is not None:
        tracked.ready_at = datetime.fromtimestamp(observed.ready_at, UTC)
    spec = managed.spec
    resources = component_resources(spec, component.value) if spec is not None else None
    if observed.usage is not None:
        tracked.sample(observed.usage, resources, float("inf"))
    return tracked
