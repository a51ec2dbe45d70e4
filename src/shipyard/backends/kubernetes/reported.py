"""What the component seam reports of a cluster deployment, from what was observed (pure).

:mod:`shipyard.backends.kubernetes.component` turns the controller's component specs into one
deployment spec (:func:`deployment_spec`), a component's pods into the controller's replicas
(:func:`replicas_of`), a pod's metrics into a usage sample (:func:`usage_sample`) and the last
apply into the APPLIED condition (:func:`applied_condition`).
"""

from __future__ import annotations

from shipyard.backends.cluster.observe import ComponentView, PodView
from shipyard.backends.kubernetes.backend import PodUsage
from shipyard.backends.kubernetes.engine import ApplyFailed
from shipyard.backends.protocol import ComponentSpec, Health, ObservedReplica, UsageSample
from shipyard.spec.deployment import (
    Component,
    DeploymentSpec,
    PredictorSpec,
    ServingTool,
    TransformerSpec,
)
from shipyard.spec.resources import PredictorResources, TransformerResources
from shipyard.spec.status import Condition, ConditionStatus, ConditionType, ReplicaExit


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


def usage_sample(found: PodUsage) -> UsageSample:
    """The controller's usage sample of a pod: memory now and CPU cores as the metrics API
    averages them over its window (not cumulative seconds: ``cpu_cores``, taken as is)."""
    memory = found.usage.memory_mb if found.usage is not None else None
    return UsageSample(
        cpu_seconds=None,
        memory_bytes=round(memory * 2**20) if memory is not None else None,
        memory_peak_bytes=None,
        enforcement="kubernetes",
        note=found.note,
        cpu_cores=found.usage.cpu_cores if found.usage is not None else None,
    )


def applied_condition(failed: ApplyFailed | None, namespace: str) -> Condition:
    """APPLIED: True, or False with the API server's status code and message."""
    if failed is None:
        return Condition(
            type=ConditionType.APPLIED,
            status=ConditionStatus.TRUE,
            reason="Applied",
            message=f"the API server took every object (namespace {namespace})",
        )
    code = failed.api_status
    refused = code is not None and 400 <= code < 500 and code not in (409, 429)
    reason = "Invalid" if failed.rendering else "Refused" if refused else "ApiUnavailable"
    return Condition(
        type=ConditionType.APPLIED,
        status=ConditionStatus.FALSE,
        reason=reason,
        message=f"{failed.message} (what already runs keeps running; applied again every pass)",
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
