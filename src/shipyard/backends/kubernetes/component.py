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
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from shipyard.backends.cluster import naming
from shipyard.backends.cluster.observe import ComponentView, PodView
from shipyard.backends.cluster.target import target_of
from shipyard.backends.kubernetes.backend import ClusterView, KubernetesBackend, PodUsage
from shipyard.backends.kubernetes.client import ApiError
from shipyard.backends.kubernetes.engine import ClusterDeployment
from shipyard.backends.protocol import (
    ComponentSpec,
    Health,
    LogLine,
    ObservedReplica,
    UsageSample,
)
from shipyard.errors import InvalidSpec, ShipyardError
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

log = logging.getLogger("shipyard.backends.kubernetes")

VIEW_REUSE_S = 0.5  # the components of one deployment are observed one after the other
USAGE_EVERY_S = 15.0  # metrics-server's usual window: reading more often shows nothing new

ProjectNames = Callable[[str], str]
"""project id -> project name (the namespace template's ``{project}``)."""


class ImageNotReady(ShipyardError):
    """A component's image is still being built: nothing is applied before it is pushed."""

    code = "image_not_ready"


RuntimeImages = Callable[[ComponentSpec], str]
"""A component -> the image its pods run (Shipyard's runtime on its environment); may block
(an image builder builds and pushes it to the registry the cluster pulls from); raises
``ImageNotReady`` while it builds."""


def fixed_image(image: str) -> RuntimeImages:
    """One image for every component (``SHIPYARD_KUBE_RUNTIME_IMAGE``)."""
    return lambda spec: image


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
    """How the pod's container last ended, or what keeps it from running (never a placement:
    a pod waiting for a node has not exited, see ``ObservedReplica.unschedulable``)."""
    if pod.scheduled is False:
        return None
    if pod.problem and pod.last_exit is None:
        return ReplicaExit(reason=pod.problem, message=pod.message)
    if pod.last_exit is not None and pod.problem:
        return pod.last_exit.model_copy(update={"message": pod.message or pod.last_exit.message})
    return pod.last_exit


def _sample(found: PodUsage) -> UsageSample:
    """The controller's usage sample of a pod (memory now; CPU is an average the metrics API
    computes, not the cumulative seconds the controller differentiates, so it stays out)."""
    memory = found.usage.memory_mb if found.usage is not None else None
    return UsageSample(
        cpu_seconds=None,
        memory_bytes=round(memory * 2**20) if memory is not None else None,
        memory_peak_bytes=None,
        enforcement="kubernetes",
        note=found.note,
    )


def replicas_of(
    view: ComponentView, url: str, spec: ComponentSpec | None, revision: int
) -> list[ObservedReplica]:
    """The pods of a component as the controller's replicas."""
    current = spec.template if spec is not None else ""
    out = []
    for slot, pod in enumerate(sorted(view.pods, key=lambda p: p.name)):
        # a pod of the template a rollout is replacing counts as outdated (state UPDATING)
        outdated = view.template and pod.template and pod.template != view.template
        template = f"outdated:{pod.template}" if outdated else current
        # a ready pod is not routed while KServe says its component is not ready
        health = Health.READY if pod.ready and not view.problem else Health.STARTING
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
                unschedulable=pod.message if pod.scheduled is False else None,
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
        images: RuntimeImages | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tool = tool
        self.backend = backend
        self._settings = settings
        self._project_names = project_names
        self._images = images
        self._known: dict[str, _Known] = {}
        self._clock = clock
        self._views: dict[str, tuple[float, ClusterView]] = {}
        self._usage: dict[str, tuple[float, UsageSample]] = {}
        self._deleting: list[asyncio.Future[int]] = []

    def _image(self, spec: ComponentSpec) -> str:
        """The runtime image of a component (an image builder may build and push it here)."""
        if self._images is None:
            raise InvalidSpec(
                f"no runtime image for the {spec.component} of {spec.deployment_name}: set "
                "SHIPYARD_KUBE_RUNTIME_IMAGE (or build images per environment into "
                "SHIPYARD_IMAGE_REGISTRY)"
            )
        return self._images(spec)

    def _deployment(self, known: _Known, images: dict[Component, str]) -> ClusterDeployment:
        p = known.specs[Component.PREDICTOR]
        target = target_of(self._settings, self._project_names(p.project_id))
        return ClusterDeployment(
            deployment_id=p.deployment_id,
            project_id=p.project_id,
            revision=p.revision,
            spec=deployment_spec(self.tool, known.specs),
            target=target,
            images=images,
            framework=p.framework,
            stopped=known.stopped,
        )

    async def apply(self, spec: ComponentSpec) -> None:
        known = self._known.setdefault(spec.deployment_id, _Known())
        known.specs[Component(spec.component)] = spec
        known.stopped = False
        if Component.PREDICTOR not in known.specs:
            return  # the predictor comes first in a pass; nothing to render without it
        try:
            rendered = await self._rendered(known)
        except ImageNotReady as exc:  # built in the background: apply on a later pass
            log.debug("%s: %s", spec.deployment_name, exc.message)
            return
        known.deployment = rendered
        await self.backend.apply(rendered)

    async def _rendered(self, known: _Known) -> ClusterDeployment:
        images = {}
        for component, spec in known.specs.items():
            images[component] = await asyncio.to_thread(self._image, spec)
        return self._deployment(known, images)

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
            known.deployment = await self._rendered(known)
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
        view = await self._view(d)
        if wanted not in view.components:
            return []
        component_view = view.components[wanted]
        spec = known.specs.get(wanted)
        replicas = replicas_of(component_view, view.urls[wanted], spec, d.revision)
        if not replicas and component_view.serving and component_view.desired == 0:
            # scaled to zero behind KServe's activator: the address answers, it wakes the pods
            replica_id = f"{naming.isvc_name(d.spec.name)}-{wanted.value}"
            template = spec.template if spec else ""
            return [
                ObservedReplica(
                    replica_id, 0, d.revision, template, Health.READY, view.urls[wanted]
                )
            ]
        return [await self._with_usage(d, r) for r in replicas]

    async def _view(self, d: ClusterDeployment) -> ClusterView:
        """The deployment as observed, read once for all its components in one pass."""
        cached = self._views.get(d.deployment_id)
        now = self._clock()
        if cached is not None and now - cached[0] < VIEW_REUSE_S:
            return cached[1]
        view = await self.backend.observe(d)
        self._views[d.deployment_id] = (now, view)
        return view

    async def _with_usage(self, d: ClusterDeployment, replica: ObservedReplica) -> ObservedReplica:
        """A ready pod's memory from the metrics API (read at most every ``USAGE_EVERY_S``)."""
        if replica.health is not Health.READY:
            return replica
        now = self._clock()
        cached = self._usage.get(replica.replica_id)
        if cached is None or now - cached[0] >= USAGE_EVERY_S:
            try:
                found = await asyncio.to_thread(
                    self.backend.usage, d.target.namespace, replica.replica_id
                )
            except (ApiError, ShipyardError):  # the API failing must not hide the replica
                return replica
            cached = (now, _sample(found))
            self._usage[replica.replica_id] = cached
        return replace(replica, usage=cached[1])

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
            await future
        self._deleting.clear()
        await asyncio.to_thread(self.backend.api.close)
        close_images = getattr(self._images, "close", None)  # a builder's background pool
        if callable(close_images):
            close_images()
