"""KSERVE: one InferenceService (``serving.kserve.io/v1beta1``) per deployment.

Predictor and transformer are custom containers running Shipyard's runtime image (so scripts
run unchanged), each with requests and limits, ``minReplicas``/``maxReplicas`` (0 =
scale-to-zero, refused outside Serverless mode, where KServe would silently turn it into 1),
``scaleMetric``/``scaleTarget`` (concurrency or rps: Knative's, so refused in Standard mode
too) and, on the predictor, KServe's ``batcher`` (KServe's agent batches; the runtime's own
batching stays off so requests are not batched twice). KServe's batcher sends each batch as a
new request without the caller's headers, so a predictor behind it cannot demand the replica
token: it runs without ``--token-file`` (:func:`batcher_admits_anyone`; the status says so).
Stop sets ``serving.kserve.io/stop: "true"`` and keeps the spec.

The gateway drives transformer -> predictor -> transformer through the components' addresses
(as on LOCAL). KServe appends ``--predictor_host <isvc>-predictor.<namespace>`` (and
``--model_name``, ``--http_port``) to the transformer container's arguments unless they are
present; we set all three ourselves, with the values KServe would use, so the runtime's command
line is fully ours and stable.
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.backends.cluster import common, naming, pods
from shipyard.backends.cluster.inputs import RenderInput
from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.scaling import ScaleMetric, ScalingConfig
from shipyard.spec.tools import ResolvedComponent
from shipyard.spec.validation import FieldError, raise_for

API_VERSION = "serving.kserve.io/v1beta1"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
STOP_ANNOTATION = "serving.kserve.io/stop"
SCALE_METRICS = {ScaleMetric.CONCURRENCY: "concurrency", ScaleMetric.RPS: "rps"}


def predictor_host(inp: RenderInput) -> str:
    """The predictor's in-cluster host, as KServe gives it to the transformer."""
    return f"{naming.isvc_name(inp.spec.name)}-predictor.{inp.target.namespace}"


def _scaling_of(inp: RenderInput, component: Component) -> ScalingConfig | None:
    if component is Component.TRANSFORMER:
        return inp.spec.transformer.scaling if inp.spec.transformer else None
    return inp.spec.predictor.scaling


def _bounds(inp: RenderInput, resolved: ResolvedComponent) -> tuple[int, int]:
    scaling = _scaling_of(inp, resolved.component)
    if scaling is not None:
        return scaling.min_instances, scaling.max_instances
    # fixed instances; 0 = scale-to-zero between 0 and 1
    return resolved.instances, max(1, resolved.instances)


def _mode_errors(inp: RenderInput, resolution: list[ResolvedComponent]) -> list[FieldError]:
    """What Standard (RawDeployment) mode cannot do: scale to zero (KServe turns minReplicas 0
    into 1) and autoscale on requests (its HPA knows cpu and memory only)."""
    mode = inp.target.kserve_mode
    if mode.scales_to_zero:
        return []
    errors = []
    fix = "or set SHIPYARD_KSERVE_DEPLOYMENT_MODE=Serverless on a cluster with Knative Serving"
    for resolved in resolution:
        low, _ = _bounds(inp, resolved)
        scaling = _scaling_of(inp, resolved.component)
        name = resolved.component.value
        if low == 0:
            field = f"{name}." + ("scaling.min_instances" if scaling else "resources.num_instances")
            msg = (
                f"this server deploys KServe in {mode.value} mode, where KServe turns "
                "minReplicas 0 into 1 (scale-to-zero needs Knative, KServe's Serverless mode): "
                f"use 1 or more instances, {fix}"
            )
            errors.append(FieldError(field, 0, msg))
        elif scaling is not None:
            msg = (
                f"this server deploys KServe in {mode.value} mode, whose autoscaler (an HPA) "
                "scales on cpu or memory only, not on "
                f"{scaling.scale_metric.value.lower()} (Knative's, in Serverless mode): remove "
                f"the scaling to run a fixed number of instances, {fix}"
            )
            errors.append(FieldError(f"{name}.scaling.scale_metric", scaling.scale_metric, msg))
    return errors


def batcher_admits_anyone(spec: DeploymentSpec) -> bool:
    """Whether the predictor sits behind KServe's batcher, which drops request headers (the
    replica token among them): then it admits any caller that reaches it."""
    batching = spec.predictor.batching
    return batching is not None and batching.enabled


def _component(inp: RenderInput, resolved: ResolvedComponent) -> dict[str, Any]:
    component = resolved.component
    assert resolved.requests is not None and resolved.limits is not None
    resources = pods.resource_requirements(resolved.requests, resolved.limits)
    admission = component is Component.TRANSFORMER or not batcher_admits_anyone(inp.spec)
    container = pods.runtime_container(
        inp, component, name="kserve-container", port_name="http1", resources=resources,
        runtime_batching=False, admission=admission,
    )  # fmt: skip
    if component is Component.TRANSFORMER:
        container["args"] += ["--predictor_host", predictor_host(inp)]
        container["args"] += ["--model_name", inp.spec.name, "--http_port", str(pods.PORT)]
    low, high = _bounds(inp, resolved)
    out: dict[str, Any] = {"minReplicas": low, "maxReplicas": high}
    scaling = _scaling_of(inp, component)
    if scaling is not None:
        out["scaleMetric"] = SCALE_METRICS[scaling.scale_metric]
        out["scaleTarget"] = max(1, math.ceil(scaling.target))
    batching = inp.spec.predictor.batching
    if component is Component.PREDICTOR and batching is not None and batching.enabled:
        out["batcher"] = {
            "maxBatchSize": batching.batch_size,
            "maxLatency": max(1, math.ceil(batching.latency_ms)),
            "timeout": max(1, math.ceil(batching.timeout_s)),
        }
    out.update(pods.pod_fields(inp, component))
    annotations = pods.pod_annotations(inp)  # KServe puts a component's annotations on its pods
    if annotations:
        out["annotations"] = annotations
    out["containers"] = [container]
    return out


def inference_service(inp: RenderInput, resolved: list[ResolvedComponent]) -> dict[str, Any]:
    annotations = {MODE_ANNOTATION: inp.target.kserve_mode.value}
    if inp.stopped:
        annotations[STOP_ANNOTATION] = "true"
    spec = {r.component.value: _component(inp, r) for r in resolved}
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": common.metadata(inp, naming.isvc_name(inp.spec.name), None, annotations),
        "spec": spec,
    }


def render(inp: RenderInput, token: str | None = None) -> list[dict[str, Any]]:
    """Every object of a KSERVE deployment: the anchor, the two Secrets, the InferenceService.

    Raises:
        InvalidSpec: The spec asks for what KSERVE (in the configured mode) cannot honour.
    """
    resolution = common.checked_resolution(inp)
    raise_for(_mode_errors(inp, resolution.components))
    if any(r.limits is None for r in resolution.components):  # the matrix says MIN_MAX
        raise InvalidSpec("KSERVE applies requests and limits; the resolution has no limits")
    return [
        common.anchor(inp),
        common.model_secret(inp, token),
        common.replica_secret(inp),
        inference_service(inp, resolution.components),
    ]
