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

Beside the replicas, :meth:`ClusterComponents.report` gives the status what concerns the whole
deployment: APPLIED (False with the API server's status code and message while an apply fails:
the pass goes on observing, so what already runs keeps running and is still routed; True again
once an apply succeeds), the direct addresses (the Services in cluster DNS; KServe's URL), and a
note when the cluster has no metrics API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from shipyard.backends.cluster import naming
from shipyard.backends.cluster.kserve import batcher_admits_anyone
from shipyard.backends.cluster.target import target_of
from shipyard.backends.kubernetes.backend import ClusterView, KubernetesBackend
from shipyard.backends.kubernetes.client import ApiError, ClusterUnavailable
from shipyard.backends.kubernetes.engine import ApplyFailed, ClusterDeployment
from shipyard.backends.kubernetes.reported import (
    applied_condition,
    deployment_spec,
    replicas_of,
    usage_sample,
)
from shipyard.backends.protocol import (
    ComponentReport,
    ComponentSpec,
    Health,
    LogLine,
    ObservedReplica,
    UsageSample,
)
from shipyard.errors import InvalidSpec, ShipyardError
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import Component, ServingTool
from shipyard.spec.status import Condition

log = logging.getLogger("shipyard.backends.kubernetes")

VIEW_REUSE_S = 0.5  # the components of one deployment are observed one after the other
USAGE_EVERY_S = 15.0  # metrics-server's usual window: reading more often shows nothing new
OBSERVE_FAILED = "the cluster's API did not answer, so this shows the pods as last seen"
BATCHER_NOTE = (
    "KServe's batcher sends batches to the predictor without the request's headers, so this "
    "predictor cannot demand the replica token: any pod of the cluster that reaches it may call "
    "it (add a NetworkPolicy, or use batching without KServe's batcher on KUBERNETES)"
)

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
    applied: bool = False  # an apply (or stop) of it went through since the server started


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
        self._metrics_note = ""  # why no pod has usage (the cluster has no metrics API)
        self._blind: dict[str, str] = {}  # deployment id -> why observing it failed just now
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
        await self._send(known, rendered)

    async def _send(self, known: _Known, deployment: ClusterDeployment) -> bool:
        """Apply (or stop); a failure is kept for the status (APPLIED=False), never raised:
        the pass goes on observing what runs. Whether it went through."""
        try:
            if deployment.stopped:
                await self.backend.stop(deployment)
            else:
                await self.backend.apply(deployment)
        except ApplyFailed as exc:
            log.warning("applying %s failed: %s", deployment.spec.name, exc.message)
            return False
        known.applied = True
        return True

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
            stopping = replace(known.deployment, stopped=True)
            if not known.stopped and await self._send(known, stopping):
                known.stopped, known.deployment = True, stopping  # else: again next pass
            return
        if known.specs.pop(Component(component), None) is not None:
            known.deployment = await self._rendered(known)
            await self._send(known, known.deployment)

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
        try:
            view = await self.backend.observe(d)
        except (ApiError, ClusterUnavailable) as exc:
            if cached is None:
                raise
            self._blind[d.deployment_id] = exc.message  # say so; keep what was last seen
            return cached[1]
        self._blind.pop(d.deployment_id, None)
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
            cached = (now, usage_sample(found))
            self._usage[replica.replica_id] = cached
            self._metrics_note = found.note if found.no_metrics_api else ""
        return replace(replica, usage=cached[1])

    async def list_components(self) -> list[tuple[str, str]]:
        """Every (deployment, component) whose anchor is on the cluster (after a restart)."""
        found = []
        for adopted in await self.backend.adopt():
            found.append((adopted.deployment_id, Component.PREDICTOR.value))
            if adopted.has_transformer:
                found.append((adopted.deployment_id, Component.TRANSFORMER.value))
        return found

    def report(self, deployment_id: str) -> ComponentReport:
        """APPLIED, the direct addresses and the metrics API's absence (see the module)."""
        known = self._known.get(deployment_id)
        if known is None or known.deployment is None:
            return ComponentReport()
        failed = self.backend.engine.failures.get(deployment_id)
        conditions: tuple[Condition, ...] = ()
        if failed is not None or known.applied:
            conditions = (applied_condition(failed, known.deployment.target.namespace),)
        cached = self._views.get(deployment_id)
        addresses = cached[1].addresses if cached is not None and not known.stopped else {}
        notes: tuple[str, ...] = ()
        if self._metrics_note and not known.stopped:
            notes += (self._metrics_note,)
        if deployment_id in self._blind:
            notes += (f"{OBSERVE_FAILED}: {self._blind[deployment_id]}",)
        if self.tool is ServingTool.KSERVE and batcher_admits_anyone(known.deployment.spec):
            notes += (BATCHER_NOTE,)
        return ComponentReport(conditions=conditions, notes=notes, addresses=dict(addresses))

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
        self._views.pop(deployment_id, None)
        self._blind.pop(deployment_id, None)
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
