"""``KServeBackend``: the KSERVE serving tool, through the official client.

KServe runs the replicas (Knative revisions in Serverless mode, Deployments in Standard mode);
this backend applies the InferenceService and reads back what KServe and the pods say: the
InferenceService's conditions (``PredictorReady``, ``TransformerReady``, ``IngressReady``,
``Ready``) mapped to ours, its URL (shown as the direct address), and the pods KServe made
(found by KServe's own labels) for scheduling, OOM kills, crash loops and image pulls. Stop is
KServe's ``serving.kserve.io/stop`` annotation: the spec stays, no pod runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from shipyard.backends.cluster import kserve as render_kserve
from shipyard.backends.cluster import naming
from shipyard.backends.cluster.observe import ComponentView, component_view
from shipyard.backends.kubernetes.backend import ClusterView, KubernetesBackend
from shipyard.backends.kubernetes.client import ClusterApi
from shipyard.backends.kubernetes.engine import ClusterDeployment, ModelTokens, ReplicaTokens
from shipyard.spec.deployment import Component

Json = dict[str, Any]
ISVC_LABEL = "serving.kserve.io/inferenceservice"
COMPONENT_LABEL = "component"
COMPONENT_CONDITIONS = {
    Component.PREDICTOR: "PredictorReady",
    Component.TRANSFORMER: "TransformerReady",
}
INTERNAL_URL = "http://{name}-{component}.{namespace}.svc.cluster.local"


@dataclass(frozen=True)
class KServeView(ClusterView):
    """A KSERVE deployment as observed, with the InferenceService's own URL."""

    isvc_url: str | None = None


def _isvc_condition(isvc: Json | None, kind: str) -> Json | None:
    conditions = ((isvc or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)


def isvc_problem(isvc: Json | None, component: Component) -> str:
    """Why KServe says the component (or the whole service) is not ready; "" when it is."""
    if isvc is None:
        return "the InferenceService does not exist yet"
    for kind in (COMPONENT_CONDITIONS[component], "IngressReady", "Ready"):
        condition = _isvc_condition(isvc, kind)
        if condition is None:
            if kind == "Ready":
                return "KServe has not reported on the InferenceService yet"
            continue
        if condition.get("status") != "True":
            reason = condition.get("reason") or "NotReady"
            said = f"{condition.get('status')} ({reason})"
            return f"KServe {kind}={said}: {condition.get('message', '')}".rstrip(": ")
    return ""


def addresses(d: ClusterDeployment, isvc: Json | None, wanted: list[Component]) -> dict[str, str]:
    """The status's direct addresses: the InferenceService's URL (``url``) and in-cluster
    address (``address``) as KServe reports them, and each component's own address (KServe's
    status, else the Service KServe makes for it)."""
    status = (isvc or {}).get("status") or {}
    out = {}
    if status.get("url"):
        out["url"] = str(status["url"])
    address = (status.get("address") or {}).get("url")
    if address:
        out["address"] = str(address)
    for component in wanted:
        said = (status.get("components") or {}).get(component.value) or {}
        url = (said.get("address") or {}).get("url") or said.get("url")
        out[component.value] = str(url) if url else INTERNAL_URL.format(
            name=naming.isvc_name(d.spec.name), component=component.value,
            namespace=d.target.namespace,
        )  # fmt: skip
    return out


class KServeBackend(KubernetesBackend):
    """Runs KSERVE deployments: one InferenceService each (the component shape)."""

    container = "kserve-container"

    def __init__(
        self,
        api: ClusterApi,
        tokens: ModelTokens,
        *,
        external_url: bool = False,
        replica_tokens: ReplicaTokens | None = None,
    ) -> None:
        super().__init__(api, tokens, render=render_kserve.render, replica_tokens=replica_tokens)
        self._external = external_url

    def pods(self, d: ClusterDeployment, component: Component) -> list[Json]:
        """The pods KServe made for ``component`` (KServe's labels, not ours)."""
        labels = {ISVC_LABEL: naming.isvc_name(d.spec.name), COMPONENT_LABEL: component.value}
        return self.api.list("Pod", d.target.namespace, labels)

    def component_url(self, d: ClusterDeployment, component: Component, isvc: Json | None) -> str:
        """Where the gateway sends a component's requests: KServe's in-cluster Service, or the
        component's external URL from the status when the server runs outside the cluster."""
        if self._external:
            status = (isvc or {}).get("status") or {}
            external = ((status.get("components") or {}).get(component.value) or {}).get("url")
            if external:
                return str(external)
        name = naming.isvc_name(d.spec.name)
        return INTERNAL_URL.format(
            name=name, component=component.value, namespace=d.target.namespace
        )

    async def observe(self, deployment: ClusterDeployment) -> KServeView:
        return await asyncio.to_thread(self._observe_isvc, deployment)

    def _observe_isvc(self, d: ClusterDeployment) -> KServeView:
        isvc = self.api.get("InferenceService", d.target.namespace, naming.isvc_name(d.spec.name))
        wanted = [Component.PREDICTOR]
        if d.spec.transformer is not None:
            wanted.append(Component.TRANSFORMER)
        components = {c: self._component_view(d, c, isvc) for c in wanted}
        status = (isvc or {}).get("status") or {}
        return KServeView(
            components=components,
            urls={c: self.component_url(d, c, isvc) for c in wanted},
            message=self.engine.failure(d.deployment_id),
            addresses=addresses(d, isvc, wanted),
            isvc_url=status.get("url"),
        )

    def _component_view(
        self, d: ClusterDeployment, component: Component, isvc: Json | None
    ) -> ComponentView:
        spec = ((isvc or {}).get("spec") or {}).get(component.value) or {}
        desired = 0 if d.stopped else int(spec.get("minReplicas", 1))
        problem = "stopped (serving.kserve.io/stop)" if d.stopped else isvc_problem(isvc, component)
        return component_view(component.value, desired, self.pod_views(d, component), problem)
