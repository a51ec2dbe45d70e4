"""The controller's seam (ComponentBackend) over the cluster backends, against the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from shipyard.backends.cluster import naming
from shipyard.backends.kserve.backend import KServeBackend
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.component import ClusterComponents
from shipyard.backends.protocol import ComponentSpec, Health
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import Component, ServingTool
from shipyard.spec.environment import EnvironmentInfo
from shipyard.spec.resources import ComponentResources, Resources
from shipyard.spec.scaling import ScalingConfig
from tests.integration.kubernetes.emulator import Cluster, running_cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

NS = "shipyard-demo"
DEP_ID = "9f0c1d2a3b4c5d6e7f8091a2b3c4d5e6"
IMAGE = "registry.example.com/shipyard/env:abc123"


class Tokens:
    ttl_s = 3600.0

    def mint(self, project_id: str, model_name: str, model_version: int) -> str:
        return "t"


def spec(component: str = "predictor", instances: int = 1, **extra: Any) -> ComponentSpec:
    return ComponentSpec(
        deployment_id=DEP_ID, deployment_name="iris", project_id="p1", component=component,
        revision=1, template=f"tpl-{component}", instances=instances, model_name="iris",
        model_version=1, model_dir=Path("/unused"), framework="sklearn",
        script_file="transformer.py" if component == "transformer" else None,
        resources=ComponentResources(
            requests=Resources(cores=0.5, memory=128), limits=Resources(cores=1, memory=256)
        ),
        environment=EnvironmentInfo(image=IMAGE), **extra,
    )  # fmt: skip


def settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(home=tmp_path, kube_shipyard_url="http://shipyard.shipyard:8470")


@pytest.fixture
async def cluster():
    async with running_cluster() as c:
        yield c


def components(cluster: Cluster, tmp_path: Path, tool=ServingTool.KUBERNETES) -> ClusterComponents:
    backend_cls = KubernetesBackend if tool is ServingTool.KUBERNETES else KServeBackend
    backend = backend_cls(cluster.api, Tokens())
    return ClusterComponents(tool, backend, settings(tmp_path), {"p1": "demo"}.__getitem__)


def ready_pod(name: str) -> dict[str, Any]:
    labels = naming.component_labels(DEP_ID, "iris", "p1", Component.PREDICTOR)
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [{"name": "runtime"}]},
        "status": {"startTime": "2026-12-05T08:00:00Z", "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-05T08:00:05Z"},
        ]},
    }  # fmt: skip


async def test_apply_then_ready_pods_are_replicas_at_the_service_address(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    await seam.apply(spec(instances=2))
    live = cluster.get("Deployment", NS, "iris-predictor")
    assert live["spec"]["replicas"] == 2
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
    [replica] = await seam.observe(DEP_ID, "predictor")
    assert (replica.health, replica.template) == (Health.READY, "tpl-predictor")
    assert replica.url == "http://iris-predictor.shipyard-demo.svc.cluster.local"
    assert replica.ready_at is not None and replica.ready_at > replica.started_at


async def test_crash_loops_and_unschedulable_pods_carry_their_reasons(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    await seam.apply(spec())
    looping = ready_pod("iris-predictor-b")
    looping["status"]["conditions"][1]["status"] = "False"
    looping["status"]["containerStatuses"] = [{
        "name": "runtime", "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    }]  # fmt: skip
    pending = ready_pod("iris-predictor-c")
    pending["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available: "
         "2 Insufficient nvidia.com/gpu."}
    ]  # fmt: skip
    cluster.put("Pod", NS, "iris-predictor-b", looping)
    cluster.put("Pod", NS, "iris-predictor-c", pending)
    crashed, waiting = await seam.observe(DEP_ID, "predictor")
    assert crashed.health is Health.EXITED and crashed.failures == 4
    assert (
        crashed.last_exit.reason == "OOMKilled" and "no memory limit" in crashed.last_exit.message
    )
    assert waiting.health is Health.STARTING
    assert waiting.last_exit.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in waiting.last_exit.message


async def test_remove_stops_in_place_and_apply_starts_again_with_the_autoscaler(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    scaled = spec(scaling=ScalingConfig(min_instances=2, max_instances=5))
    await seam.apply(scaled)
    await seam.remove(DEP_ID, "predictor")
    await seam.remove(DEP_ID, "transformer")
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 0
    assert cluster.get("HorizontalPodAutoscaler", NS, "iris-predictor") is None
    assert await seam.observe(DEP_ID, "predictor") == []
    await seam.apply(scaled)
    assert cluster.get("HorizontalPodAutoscaler", NS, "iris-predictor") is not None
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 2


async def test_forgetting_a_deleted_deployment_deletes_its_objects(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    await seam.apply(spec())
    seam.forget_logs(DEP_ID)
    await seam.close()
    assert cluster.all("Deployment") == [] and cluster.all("ConfigMap") == []


async def test_after_a_restart_components_are_listed_and_stopped_by_their_labels(cluster, tmp_path):
    await components(cluster, tmp_path).apply(spec(instances=3))
    restarted = components(cluster, tmp_path)
    assert await restarted.list_components() == [(DEP_ID, "predictor")]
    await restarted.remove(DEP_ID, "predictor")  # stopped while the server was down
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 0
    restarted.forget_logs(DEP_ID)  # deleted while it was down: found by its anchor
    await restarted.close()
    assert cluster.all("Deployment") == []


async def test_kserve_gathers_both_components_in_one_inference_service(cluster, tmp_path):
    seam = components(cluster, tmp_path, ServingTool.KSERVE)
    await seam.apply(spec("predictor"))
    await seam.apply(spec("transformer"))
    [isvc] = cluster.all("InferenceService")
    assert set(isvc["spec"]) == {"predictor", "transformer"}
    assert await seam.list_components() == [(DEP_ID, "predictor"), (DEP_ID, "transformer")]
    await seam.remove(DEP_ID, "predictor")
    isvc = cluster.get("InferenceService", NS, "iris")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/stop"] == "true"


async def test_logs_of_a_component(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    await seam.apply(spec())
    cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
    cluster.emulator[f"/api/v1/namespaces/{NS}/pods/iris-predictor-a/log"] << b"hello\n"
    lines = await asyncio.to_thread(seam.logs, DEP_ID, "predictor", 20)
    assert [(x.replica_id, x.line) for x in lines] == [("iris-predictor-a", "hello")]
