"""KServeBackend against a Kubernetes API emulator on loopback; the tests play KServe."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from shipyard.backends.cluster.inputs import ClusterTarget
from shipyard.backends.kserve.backend import KServeBackend
from shipyard.backends.kubernetes.engine import ClusterDeployment
from shipyard.spec.deployment import (
    Component,
    DeploymentSpec,
    PredictorSpec,
    ServingTool,
    TransformerSpec,
)
from shipyard.spec.resources import PredictorResources, Resources, TransformerResources
from shipyard.spec.status import ConditionStatus, ConditionType
from tests.integration.kubernetes.emulator import Cluster, running_cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

NS = "shipyard-demo"
DEP_ID = "7a0c1d2a3b4c5d6e7f8091a2b3c4d5e6"
IMAGE = "registry.example.com/shipyard/runtime:env-2"
REQ, LIM = Resources(cores=1, memory=128, gpus=1), Resources(cores=2, memory=256, gpus=1)


class Tokens:
    ttl_s = 3600.0

    def __init__(self) -> None:
        self.minted = 0

    def mint(self, project_id: str, model_name: str, model_version: int) -> str:
        self.minted += 1
        return f"token-{self.minted}"


def deployment(instances: int = 1, transformer: bool = True, **extra: Any) -> ClusterDeployment:
    spec = DeploymentSpec(
        name="fraud",
        serving_tool=ServingTool.KSERVE,
        predictor=PredictorSpec(
            model_name="fraud", model_version=2,
            resources=PredictorResources(num_instances=instances, requests=REQ, limits=LIM),
        ),
        transformer=TransformerSpec(
            script_file="transformer.py",
            resources=TransformerResources(num_instances=1, requests=REQ, limits=LIM),
        ) if transformer else None,
    )  # fmt: skip
    target = ClusterTarget(namespace=NS, api_url="http://shipyard.shipyard:8470")
    images = {Component.PREDICTOR: IMAGE, Component.TRANSFORMER: IMAGE}
    d = ClusterDeployment(DEP_ID, "proj", 1, spec, target, images, framework="sklearn")
    return replace(d, **extra)


@pytest.fixture
async def cluster():
    async with running_cluster() as c:
        yield c


@pytest.fixture
def backend(cluster: Cluster) -> KServeBackend:
    return KServeBackend(cluster.api, Tokens())


def kserve_says(cluster: Cluster, ready: bool, **component_conditions: Any) -> None:
    """Write the InferenceService's status as KServe's controller would."""
    isvc = cluster.get("InferenceService", NS, "fraud")
    assert isvc is not None
    conditions = [{"type": "IngressReady", "status": "True"}]
    for kind, (status, reason, message) in component_conditions.items():
        conditions.append({"type": kind, "status": status, "reason": reason, "message": message})
    conditions.append({"type": "Ready", "status": "True" if ready else "False"})
    isvc["status"] = {
        "url": "http://fraud.shipyard-demo.example.com",
        "address": {"url": "http://fraud.shipyard-demo.svc.cluster.local"},
        "conditions": conditions,
        "components": {"predictor": {"url": "http://fraud-predictor.shipyard-demo.example.com"}},
    }
    cluster.put("InferenceService", NS, "fraud", isvc)


def kserve_pod(name: str, component: str, ready: bool = True, **status: Any) -> dict[str, Any]:
    labels = {"serving.kserve.io/inferenceservice": "fraud", "component": component}
    container = {"name": "kserve-container", "resources": {"limits": {"memory": "256Mi"}}}
    conditions = [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "True" if ready else "False"},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [container]},
        "status": {"conditions": conditions, **status},
    }


async def test_create_applies_one_inference_service_with_requests_and_limits(cluster, backend):
    await backend.apply(deployment())
    isvc = cluster.get("InferenceService", NS, "fraud")
    assert isvc is not None
    expected = {
        "requests": {"cpu": "1000m", "memory": "128Mi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "2000m", "memory": "256Mi", "nvidia.com/gpu": "1"},
    }
    for component in ("predictor", "transformer"):
        assert isvc["spec"][component]["containers"][0]["resources"] == expected
    anchor = cluster.get("ConfigMap", NS, "fraud-shipyard")
    assert isvc["metadata"]["ownerReferences"][0]["uid"] == anchor["metadata"]["uid"]
    assert cluster.get("Secret", NS, "fraud-model") is not None


async def test_ready_when_kserve_and_the_pods_say_so_with_its_url(cluster, backend):
    await backend.apply(deployment())
    for component in ("predictor", "transformer"):
        pod = kserve_pod(f"fraud-{component}-1", component)
        cluster.put("Pod", NS, pod["metadata"]["name"], pod)
    ok = ("True", "", "")
    kserve_says(cluster, True, PredictorReady=ok, TransformerReady=ok)
    view = await backend.observe(deployment())
    assert all(v.serving for v in view.components.values())
    assert view.isvc_url == "http://fraud.shipyard-demo.example.com"
    assert view.urls == {
        Component.PREDICTOR: "http://fraud-predictor.shipyard-demo.svc.cluster.local",
        Component.TRANSFORMER: "http://fraud-transformer.shipyard-demo.svc.cluster.local",
    }
    external = KServeBackend(cluster.api, Tokens(), external_url=True)
    outside = await external.observe(deployment())
    assert outside.urls[Component.PREDICTOR] == "http://fraud-predictor.shipyard-demo.example.com"


async def test_kserves_conditions_are_mapped_to_ours(cluster, backend):
    await backend.apply(deployment())
    pod = kserve_pod("fraud-predictor-1", "predictor")
    cluster.put("Pod", NS, "fraud-predictor-1", pod)
    failed = ("False", "RevisionFailed", "Revision fraud-predictor-00001 failed with message: x")
    kserve_says(cluster, False, PredictorReady=failed, TransformerReady=("True", "", ""))
    predictor = (await backend.observe(deployment())).components[Component.PREDICTOR]
    ready = predictor.condition(ConditionType.READY)
    assert ready.status is ConditionStatus.FALSE
    assert "PredictorReady=False (RevisionFailed)" in ready.message


async def test_oom_killed_in_a_kserve_pod_names_the_limit(cluster, backend):
    await backend.apply(deployment())
    oom = {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    statuses = [{"name": "kserve-container", "restartCount": 2, "lastState": oom,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]  # fmt: skip
    pod = kserve_pod("fraud-predictor-1", "predictor", ready=False, containerStatuses=statuses)
    cluster.put("Pod", NS, "fraud-predictor-1", pod)
    predictor = (await backend.observe(deployment())).components[Component.PREDICTOR]
    started = predictor.condition(ConditionType.STARTED)
    assert "memory limit of 256Mi" in started.message and not predictor.serving


async def test_stop_sets_the_stop_annotation_and_keeps_the_spec(cluster, backend):
    await backend.apply(deployment())
    await backend.stop(deployment())
    isvc = cluster.get("InferenceService", NS, "fraud")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/stop"] == "true"
    assert isvc["spec"]["predictor"]["minReplicas"] == 1
    view = await backend.observe(deployment(stopped=True))
    assert "stopped" in view.components[Component.PREDICTOR].condition(ConditionType.READY).message


async def test_scaled_to_zero_and_ready_is_serving_without_pods(cluster, backend):
    await backend.apply(deployment(instances=0, transformer=False))
    isvc = cluster.get("InferenceService", NS, "fraud")
    assert (isvc["spec"]["predictor"]["minReplicas"], isvc["spec"]["predictor"]["maxReplicas"]) == (
        0,
        1,
    )
    kserve_says(cluster, True, PredictorReady=("True", "", ""))
    view = await backend.observe(deployment(instances=0, transformer=False))
    assert view.components[Component.PREDICTOR].serving


async def test_delete_and_adoption(cluster, backend):
    await backend.apply(deployment())
    [adopted] = await KServeBackend(cluster.api, Tokens()).adopt()
    assert adopted.deployment_id == DEP_ID
    assert await backend.delete(DEP_ID, NS) == 4  # anchor, two secrets, InferenceService
    assert cluster.all("InferenceService") == [] and cluster.all("ConfigMap") == []
    assert cluster.all("Secret") == []


async def test_logs_are_read_from_the_kserve_container(cluster, backend):
    await backend.apply(deployment())
    cluster.put("Pod", NS, "fraud-predictor-1", kserve_pod("fraud-predictor-1", "predictor"))
    path = f"/api/v1/namespaces/{NS}/pods/fraud-predictor-1/log"
    cluster.emulator[path] << b"model loaded\n"
    lines = await asyncio.to_thread(backend.logs, deployment(), Component.PREDICTOR, 5)
    assert [x.line for x in lines] == ["model loaded"]
    [request] = [r for r in list(cluster.emulator) if r.url.path == path]
    assert request.params == {"container": "kserve-container", "tailLines": "5"}
