"""``KubernetesBackend``: the KUBERNETES serving tool on a cluster, through the official client.

Per component a Deployment and a ClusterIP Service (plus an HPA when autoscaling), rendered by
:mod:`shipyard.backends.cluster.kubernetes`. The cluster runs the replicas; this backend applies
the objects and reports what it observes (pods, scheduling events, container exits) as the four
conditions, the gateway's address (the Service), logs (the pod log API) and usage (the metrics
API, where the cluster has one). Calls block, so they run in worker threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shipyard.backends.cluster import kubernetes as render_kubernetes
from shipyard.backends.cluster import naming
from shipyard.backends.cluster.observe import ComponentView, PodView, component_view, pod_view
from shipyard.backends.cluster.quantities import cpu_cores, memory_bytes
from shipyard.backends.kubernetes.client import ApiError, ClusterApi
from shipyard.backends.kubernetes.engine import (
    Adopted,
    ClusterDeployment,
    ClusterEngine,
    ModelTokens,
    Renderer,
    ReplicaTokens,
)
from shipyard.backends.protocol import LogLine
from shipyard.spec.deployment import Component
from shipyard.spec.status import ReplicaUsage

Json = dict[str, Any]
CONTAINER = "runtime"
CLUSTER_DNS = "http://{service}.{namespace}.svc.cluster.local"
NO_METRICS = (
    "this cluster has no metrics API (metrics.k8s.io, served by metrics-server): no usage shown"
)


NOT_MEASURED = "the metrics API has not measured this pod yet"
METRICS_API = "/apis/metrics.k8s.io/v1beta1"
METRICS_RECHECK_S = 300.0  # metrics-server may be installed while the server runs


@dataclass(frozen=True)
class PodUsage:
    """A pod's usage now (None: unknown) and why it may be unknown."""

    usage: ReplicaUsage | None
    note: str = ""
    no_metrics_api: bool = False  # the cluster serves no metrics.k8s.io at all


@dataclass(frozen=True)
class ClusterView:
    """A deployment as observed on the cluster."""

    components: dict[Component, ComponentView]
    urls: dict[Component, str]  # where the gateway sends requests
    message: str = ""  # a failing API call, reported as is
    addresses: Mapping[str, str] = field(default_factory=dict)  # the status's direct addresses


class KubernetesBackend:
    """Runs whole components of KUBERNETES deployments (the component shape)."""

    container = CONTAINER  # the runtime's container in each pod (for its logs)

    def __init__(
        self,
        api: ClusterApi,
        tokens: ModelTokens,
        *,
        external_url: str | None = None,
        render: Renderer = render_kubernetes.render,
        clock: Callable[[], float] = time.time,
        replica_tokens: ReplicaTokens | None = None,
    ) -> None:
        self.api = api
        self.engine = ClusterEngine(api, render, tokens, clock, replica_tokens)
        self._url_template = external_url or CLUSTER_DNS
        self._clock = clock
        self._metrics_api: tuple[float, bool] | None = None  # (checked at, served)

    async def apply(self, deployment: ClusterDeployment) -> None:
        await asyncio.to_thread(self.engine.apply, deployment)

    async def stop(self, deployment: ClusterDeployment) -> None:
        """Keep every object and the spec; run no pod (``replicas: 0``, no autoscaler)."""
        await self.apply(replace(deployment, stopped=True))

    async def delete(self, deployment_id: str, namespace: str) -> int:
        return await asyncio.to_thread(self.engine.delete, deployment_id, namespace)

    async def adopt(self, namespace: str | None = None) -> list[Adopted]:
        return await asyncio.to_thread(self.engine.adopt, namespace)

    def url(self, deployment: ClusterDeployment, component: Component) -> str:
        service = naming.component_name(deployment.spec.name, component)
        return self._url_template.format(service=service, namespace=deployment.target.namespace)

    @staticmethod
    def cluster_address(deployment: ClusterDeployment, component: Component) -> str:
        """The component's Service in cluster DNS (what pods in the cluster may call)."""
        service = naming.component_name(deployment.spec.name, component)
        return CLUSTER_DNS.format(service=service, namespace=deployment.target.namespace)

    async def observe(self, deployment: ClusterDeployment) -> ClusterView:
        return await asyncio.to_thread(self._observe, deployment)

    def _observe(self, d: ClusterDeployment) -> ClusterView:
        components = {Component.PREDICTOR: self._component(d, Component.PREDICTOR)}
        return ClusterView(
            components=components,
            urls={c: self.url(d, c) for c in components},
            message=self.engine.failure(d.deployment_id),
            addresses={c.value: self.cluster_address(d, c) for c in components},
        )

    def _component(self, d: ClusterDeployment, component: Component) -> ComponentView:
        ns = d.target.namespace
        name = naming.component_name(d.spec.name, component)
        live = self.api.get("Deployment", ns, name)
        if live is None:
            return component_view(component.value, 1, [], "not created yet")
        spec, status = live.get("spec") or {}, live.get("status") or {}
        desired = int(spec.get("replicas", status.get("replicas", 1)) or 0)
        view = component_view(component.value, desired, self.pod_views(d, component))
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        return replace(view, template=str(labels.get(naming.TEMPLATE, "")))

    def pod_views(self, d: ClusterDeployment, component: Component) -> list[PodView]:
        """The pods of ``component`` with their scheduling events (read only when needed)."""
        pods = self.pods(d, component)
        events: list[Json] = []
        if any(pod_view(p, []).scheduled is False for p in pods):
            events = self.api.list("Event", d.target.namespace, {})
        return [pod_view(p, events) for p in pods]

    def logs(self, d: ClusterDeployment, component: Component, tail: int) -> list[LogLine]:
        """The last ``tail`` lines of each pod of ``component`` (the pod log API)."""
        return self.pod_logs(d, component, self.container, tail)

    def pods(self, d: ClusterDeployment, component: Component) -> list[Json]:
        """The pods of ``component``, found by the labels Shipyard gave them."""
        return self.api.list("Pod", d.target.namespace, naming.selector(d.deployment_id, component))

    def pod_logs(
        self, d: ClusterDeployment, component: Component, container: str, tail: int
    ) -> list[LogLine]:
        ns = d.target.namespace
        out = []
        for pod in self.pods(d, component):
            name = pod["metadata"]["name"]
            try:
                text = self.api.pod_log(ns, name, container, tail)
            except ApiError as exc:  # e.g. still pulling its image: say so in its place
                text = f"(no log: {exc.message or exc.reason})"
            out += [LogLine(replica_id=name, line=line) for line in text.splitlines()]
        return out

    def has_metrics_api(self) -> bool:
        """Whether the cluster serves ``metrics.k8s.io`` (API discovery, rechecked every few
        minutes): a 404 for one pod means "not measured yet" on a cluster that does."""
        now = self._clock()
        if self._metrics_api is None or now - self._metrics_api[0] >= METRICS_RECHECK_S:
            try:
                self.api.request("GET", METRICS_API)
                served = True
            except ApiError as exc:
                if exc.status != 404:
                    raise
                served = False
            self._metrics_api = (now, served)
        return self._metrics_api[1]

    def usage(self, namespace: str, pod: str) -> PodUsage:
        """CPU (cores, averaged over the API's window) and memory (MiB) now, from the metrics
        API (``metrics.k8s.io/v1beta1`` PodMetrics, the resource ``kubectl top`` reads)."""
        path = f"{METRICS_API}/namespaces/{namespace}/pods/{pod}"
        try:
            metrics = self.api.request("GET", path)
        except ApiError as exc:
            if exc.status != 404:
                raise
            if self.has_metrics_api():
                return PodUsage(None, NOT_MEASURED)
            return PodUsage(None, NO_METRICS, no_metrics_api=True)
        cores = memory = 0.0
        for container in metrics.get("containers") or []:
            usage = container.get("usage") or {}
            cores += cpu_cores(str(usage.get("cpu", "0")))
            memory += memory_bytes(str(usage.get("memory", "0")))
        usage = ReplicaUsage(
            cpu_cores=round(cores, 3), memory_mb=round(memory / 2**20, 1), enforcement="kubernetes"
        )
        return PodUsage(usage, f"averaged over {metrics.get('window', '?')} by the metrics API")
