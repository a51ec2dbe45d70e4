"""KUBERNETES: per component a Deployment and a Service, plus a HorizontalPodAutoscaler.

Requests only (the matrix's "minimum resources"; ``spec.tools.resolve`` keeps the warning), GPUs
as ``nvidia.com/gpu``, a surge-first rolling update (``maxUnavailable: 0``: an update never
takes a ready replica away before its replacement is ready), stop = ``replicas: 0`` with the
spec kept. Autoscaling: an ``autoscaling/v2`` HPA owns ``replicas`` (the Deployment renders
without it); its floor follows Shipyard's own autoscaler (gateway traffic, decided by the
controller), and a per-pod metric (``shipyard_requests_in_flight`` for CONCURRENCY,
``shipyard_requests_per_second`` for RPS) from a custom-metrics adapter, where the cluster has
one, lets it add pods above that (docs/kubernetes.md).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from shipyard.backends.cluster import common, naming, pods
from shipyard.backends.cluster.inputs import RenderInput
from shipyard.spec.deployment import Component
from shipyard.spec.scaling import ScaleMetric, ScalingConfig
from shipyard.spec.tools import ResolvedComponent

POD_METRICS = {
    ScaleMetric.CONCURRENCY: "shipyard_requests_in_flight",
    ScaleMetric.RPS: "shipyard_requests_per_second",
}


def _scaling(inp: RenderInput, component: Component) -> ScalingConfig | None:
    if component is Component.TRANSFORMER:
        return inp.spec.transformer.scaling if inp.spec.transformer else None
    return inp.spec.predictor.scaling


def _name(inp: RenderInput, component: Component) -> str:
    return naming.component_name(inp.spec.name, component)


def pod_template(
    inp: RenderInput, component: Component, labels: dict[str, str], container: dict[str, Any]
) -> dict[str, Any]:
    """The pod template, labelled with a hash of itself (``shipyard.dev/template``), so the
    status tells pods of the current template from those a rollout is replacing (also pods
    that still hold a replica token that changed since)."""
    spec = {
        **pods.pod_fields(inp, component),
        "containers": [container],
        "terminationGracePeriodSeconds": 30,
    }
    annotations = pods.pod_annotations(inp)
    basis: Any = [spec, annotations] if annotations else spec
    hashed = json.dumps(basis, sort_keys=True).encode()
    metadata: dict[str, Any] = {
        "labels": {**labels, naming.TEMPLATE: hashlib.sha256(hashed).hexdigest()[:16]}
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": spec}


def deployment(inp: RenderInput, resolved: ResolvedComponent) -> dict[str, Any]:
    """The ``apps/v1`` Deployment of one component."""
    component = resolved.component
    assert resolved.requests is not None
    resources = pods.resource_requirements(resolved.requests, resolved.limits)
    container = pods.runtime_container(
        inp, component, name="runtime", port_name="http", resources=resources,
        runtime_batching=True,
    )  # fmt: skip
    labels = naming.component_labels(inp.deployment_id, inp.spec.name, inp.project_id, component)
    spec: dict[str, Any] = {
        "selector": {"matchLabels": naming.selector(inp.deployment_id, component)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        },
        "revisionHistoryLimit": 3,
        "progressDeadlineSeconds": 600,
        "template": pod_template(inp, component, labels, container),
    }
    scaling = _scaling(inp, component)
    if inp.stopped:
        spec["replicas"] = 0
    elif scaling is None:
        spec["replicas"] = resolved.instances
    # with an HPA the autoscaler owns replicas: rendering one would fight it on every apply
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": common.metadata(
            inp, naming.component_name(inp.spec.name, component), component
        ),
        "spec": spec,
    }


def service(inp: RenderInput, component: Component) -> dict[str, Any]:
    """The ClusterIP Service in front of one component's ready pods (port 80 -> 8080)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": common.metadata(
            inp, naming.component_name(inp.spec.name, component), component
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": naming.selector(inp.deployment_id, component),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def autoscaler(
    inp: RenderInput, component: Component, scaling: ScalingConfig, instances: int = 1
) -> dict[str, Any]:
    """The ``autoscaling/v2`` HorizontalPodAutoscaler of one component.

    Its floor is the larger of the scaling minimum and ``instances``, the count Shipyard's own
    autoscaler chose from the gateway's traffic (through the controller; a spec's
    ``num_instances`` on a dry run): so the component follows the traffic with no metrics
    adapter in the cluster, and one serving the per-pod metric lets the HPA add pods on top.
    """
    name = naming.component_name(inp.spec.name, component)
    floor = min(scaling.max_instances, max(1, scaling.min_instances, instances))
    target = f"{math.ceil(scaling.target * 1000)}m"  # a quantity: 10 -> "10000m"
    window = min(3600, math.ceil(max(scaling.stable_window_s, scaling.scale_down_delay_s)))
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": common.metadata(inp, name, component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": floor,
            "maxReplicas": scaling.max_instances,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": POD_METRICS[scaling.scale_metric]},
                        "target": {"type": "AverageValue", "averageValue": target},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": window}},
        },
    }


def render(inp: RenderInput, token: str | None = None) -> list[dict[str, Any]]:
    """Every object of a KUBERNETES deployment, in the order they are applied.

    Args:
        inp: The deployment and where it goes.
        token: The model download token (None on a dry run: a placeholder is shown).

    Raises:
        InvalidSpec: The spec asks for what KUBERNETES cannot honour.
    """
    resolution = common.checked_resolution(inp)
    objects = [common.anchor(inp), common.model_secret(inp, token), common.replica_secret(inp)]
    for resolved in resolution.components:
        objects.append(deployment(inp, resolved))
        objects.append(service(inp, resolved.component))
        scaling = _scaling(inp, resolved.component)
        if scaling is not None and not inp.stopped:
            objects.append(autoscaler(inp, resolved.component, scaling, resolved.instances))
    return objects
