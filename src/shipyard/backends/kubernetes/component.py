"""The controller's component-backend seam for the cluster tools (KUBERNETES and KSERVE).

The controller states intent per component (:class:`~shipyard.backends.protocol.ComponentSpec`:
``apply`` on every pass, ``remove`` when a component goes or the deployment stops) and reads the
replicas back (``observe``). This adapter gathers a deployment's components into the one
deployment the cluster backends render (KSERVE has a single InferenceService for both), turns
``remove`` into a stop that keeps every object (``replicas: 0``, or KServe's stop annotation),
and deletes the objects once the controller forgets the deployment (``forget_logs``, which it
calls after a deletion only). Pods are reported as replicas: READY when they pass their
readiness probe, with the component's Service as their address; a crash loop as failures with
the exit (OOMKilled with its memory, image pulls, ...); a pod the scheduler cannot place with
the scheduler's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from shipyard.backends.cluster import naming
from shipyard.backends.cluster.observe import ComponentView, PodView
from shipyard.backends.cluster.target import target_of
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.engine import ClusterDeployment
from shipyard.backends.protocol import ComponentSpec, Health, LogLine, ObservedReplica
from shipyard.errors import InvalidSpec
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import (
    Component,
    DeploymentSpec,
    PredictorSpec,
    ServingTool,
    TransformerSpec,
)
from shipyard.spec.resources import PredictorResources, TransformerResources
from shipyard.spec.status import ReplicaExit

ProjectNames = Callable[[str], str]
"""project id -> project name (the namespace template's ``{project}``)."""


@dataclass
class _Known:
    """What the adapter knows of one deployment: its components' specs, stopped or not."""

    specs: dict[Component, ComponentSpec] = field(default_factory=dict)
    stopped: bool = False
    deployment: ClusterDeployment | None = None


def deployment_spec(tool: ServingTool, specs: dict[Component, ComponentSpec]) -> DeploymentSpec:
    """The deployment spec the component specs of one deployment make together."""
    p = specs[Component.PREDICTOR]
    predictor = PredictorSpec(
        model_name=p.model_name,
        model_version=p.model_version,
        script_file=p.script_file,
        resources=PredictorResources(
            num_instances=p.instances, requests=p.resources.requests, limits=p.resources.limits
        ),
        scaling=p.scaling,
        batching=p.batching,
    )
    transformer = None
    t = specs.get(Component.TRANSFORMER)
    if t is not None and t.script_file:
        resources = TransformerResources(
            num_instances=t.instances, requests=t.resources.requests, limits=t.resources.limits
        )
        transformer = TransformerSpec(
            script_file=t.script_file, resources=resources, scaling=t.scaling
        )
    return DeploymentSpec(
        name=p.deployment_name, serving_tool=tool, predictor=predictor, transformer=transformer
    )


def _exit_of(pod: PodView) -> ReplicaExit | None:
    if pod.problem and (pod.last_exit is None or pod.problem == "Unschedulable"):
        return ReplicaExit(reason=pod.problem, message=pod.message)
    if pod.last_exit is not None and pod.problem:
        return pod.last_exit.model_copy(update={"message": pod.message or pod.last_exit.message})
    return pod.last_exit


def replicas_of(
    view: ComponentView, url: str, spec: ComponentSpec | None, revision: int
) -> list[ObservedReplica]:
    """The pods of a component as the controller's replicas."""
    template = spec.template if spec is not None else ""
    out = []
    for slot, pod in enumerate(sorted(view.pods, key=lambda p: p.name)):
        health = Health.READY if pod.ready else Health.STARTING
        if pod.crash_looping:
            health = Health.EXITED
        out.append(
            ObservedReplica(
                replica_id=pod.name,
                slot=slot,
                revision=revision,
                template=template,
                health=health,
                url=url,
                started_at=pod.started_at.timestamp() if pod.started_at else 0.0,
                ready_at=pod.ready_at.timestamp() if pod.ready_at else None,
                failures=max(1, pod.restarts) if pod.crash_looping else 0,
                restarts=pod.restarts,
                last_exit=_exit_of(pod),
            )
        )
    return out


class ClusterComponents:
    """A cluster backend as the controller's ``ComponentBackend``."""

    def __init__(
        self,
        tool: ServingTool,
        backend: KubernetesBackend,
        settings: ServerSettings,
        project_names: ProjectNames,
        *,
        default_image: str | None = None,
    ) -> None:
        self.tool = tool
        self.backend = backend
        self._settings = settings
        self._project_names = project_names
        self._default_image = default_image
        self._known: dict[str, _Known] = {}
        self._deleting: list[asyncio.Future[int]] = []

    def _image(self, spec: ComponentSpec) -> str:
        image = spec.environment.image if spec.environment is not None else None
        image = image or self._default_image
        if not image:
            raise InvalidSpec(
                f"no runtime image for the {spec.component} of {spec.deployment_name}: build its "
                "environment as an image (SHIPYARD_IMAGE_REGISTRY) or set "
                "SHIPYARD_KUBE_RUNTIME_IMAGE"
            )
        return image

    def _deployment(self, known: _Known) -> ClusterDeployment:
        p = known.specs[Component.PREDICTOR]
        target = target_of(self._settings, self._project_names(p.project_id))
        return ClusterDeployment(
            deployment_id=p.deployment_id,
            project_id=p.project_id,
            revision=p.revision,
            spec=deployment_spec(self.tool, known.specs),
            target=target,
            images={c: self._image(s) for c, s in known.specs.items()},
            framework=p.framework,
            stopped=known.stopped,
        )

    async def apply(self, spec: ComponentSpec) -> None:
        known = self._known.setdefault(spec.deployment_id, _Known())
        known.specs[Component(spec.component)] = spec
        known.stopped = False
        if Component.PREDICTOR not in known.specs:
            return  # the predictor comes first in a pass; nothing to render without it
        known.deployment = self._deployment(known)
        await self.backend.apply(known.deployment)

    async def remove(self, deployment_id: str, component: str) -> None:
        """Stop the deployment (every object and the spec stay), or drop a removed component
        of a running one (KSERVE's transformer)."""
        known = self._known.get(deployment_id)
        if known is None or known.deployment is None:  # adopted, not applied since a restart
            if component == Component.PREDICTOR.value:
                await asyncio.to_thread(self._stop_adopted, deployment_id)
            return
        if component == Component.PREDICTOR.value or known.stopped:
            if not known.stopped:
                known.stopped = True
                known.deployment = replace(known.deployment, stopped=True)
                await self.backend.stop(known.deployment)
            return
        if known.specs.pop(Component(component), None) is not None:
            known.deployment = self._deployment(known)
            await self.backend.apply(known.deployment)

    def _stop_adopted(self, deployment_id: str) -> None:
        for adopted in self.backend.engine.adopt():
            if adopted.deployment_id == deployment_id and not adopted.stopped:
                self.backend.engine.stop_in_place(deployment_id, adopted.namespace)

    async def observe(self, deployment_id: str, component: str) -> list[ObservedReplica]:
        known = self._known.get(deployment_id)
        if known is None or known.deployment is None or known.stopped:
            return []
        d = known.deployment
        wanted = Component(component)
        view = await self.backend.observe(d)
        if wanted not in view.components:
            return []
        replicas = replicas_of(
            view.components[wanted], view.urls[wanted], known.specs.get(wanted), d.revision
        )
        component_view = view.components[wanted]
        if not replicas and component_view.serving and component_view.desired == 0:
            # scaled to zero behind KServe's activator: the address answers, it wakes the pods
            spec = known.specs.get(wanted)
            replicas = [
                ObservedReplica(
                    replica_id=f"{naming.isvc_name(d.spec.name)}-{wanted.value}",
                    slot=0,
                    revision=d.revision,
                    template=spec.template if spec else "",
                    health=Health.READY,
                    url=view.urls[wanted],
                )
            ]
        return replicas

    async def list_components(self) -> list[tuple[str, str]]:
        """Every (deployment, component) whose anchor is on the cluster (after a restart)."""
        found = []
        for adopted in await self.backend.adopt():
            found.append((adopted.deployment_id, Component.PREDICTOR.value))
            if adopted.has_transformer:
                found.append((adopted.deployment_id, Component.TRANSFORMER.value))
        return found

    def capacity(self) -> Capacity | None:
        return None  # the cluster's scheduler decides (SCHEDULED=False says when it cannot)

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        known = self._known.get(deployment_id)
        if known is None or known.deployment is None:
            return []
        return self.backend.logs(known.deployment, Component(component), tail)

    def forget_logs(self, deployment_id: str) -> None:
        """Called once a deleted deployment is purged: delete its objects (in the background;
        ``close`` waits for it)."""
        known = self._known.pop(deployment_id, None)
        namespace = known.deployment.target.namespace if known and known.deployment else None
        loop = asyncio.get_running_loop()
        self._deleting.append(loop.run_in_executor(None, self._delete, deployment_id, namespace))

    def _delete(self, deployment_id: str, namespace: str | None) -> int:
        """Delete the deployment's objects (found by its anchor when the namespace is unknown,
        e.g. deleted while the server was down)."""
        namespaces = [namespace] if namespace else [
            a.namespace for a in self.backend.engine.adopt() if a.deployment_id == deployment_id
        ]  # fmt: skip
        return sum(self.backend.engine.delete(deployment_id, ns) for ns in namespaces)

    async def close(self) -> None:
        for future in self._deleting:
            await asyncio.wrap_future(future)
        self._deleting.clear()
