"""The controller's seam (ComponentBackend) over the cluster backends, against the emulator."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shipyard.backends.cluster import naming
from shipyard.backends.kserve.backend import KServeBackend
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.component import ClusterComponents, ImageNotReady
from shipyard.backends.protocol import ComponentSpec, Health
from shipyard.errors import InvalidSpec
from shipyard.settings import ServerSettings
from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.deployment import Component, ServingTool
from shipyard.spec.environment import EnvironmentInfo
from shipyard.spec.resources import ComponentResources, Resources
from shipyard.spec.scaling import ScalingConfig
from shipyard.spec.status import ConditionStatus, ConditionType
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
    extra.setdefault(
        "resources",
        ComponentResources(
            requests=Resources(cores=0.5, memory=128), limits=Resources(cores=1, memory=256)
        ),
    )
    return ComponentSpec(
        deployment_id=DEP_ID, deployment_name="iris", project_id="p1", component=component,
        revision=1, template=f"tpl-{component}", instances=instances, model_name="iris",
        model_version=1, model_dir=Path("/unused"), framework="sklearn",
        script_file="transformer.py" if component == "transformer" else None,
        environment=EnvironmentInfo(key="abc123"), **extra,
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
    return ClusterComponents(
        tool, backend, settings(tmp_path), {"p1": "demo"}.__getitem__, images=images_of
    )


def images_of(spec: ComponentSpec) -> str:
    """The image builder's answer: one image per environment key."""
    assert spec.environment is not None
    return f"{IMAGE}-{spec.environment.key}"


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
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == f"{IMAGE}-abc123"
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
    assert waiting.health is Health.STARTING and waiting.last_exit is None
    assert waiting.unschedulable == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."


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


async def test_ready_replicas_carry_their_memory_from_the_metrics_api(cluster, tmp_path):
    now = [0.0]
    backend = KubernetesBackend(cluster.api, Tokens())
    seam = ClusterComponents(
        ServingTool.KUBERNETES, backend, settings(tmp_path), {"p1": "demo"}.__getitem__,
        images=images_of, clock=lambda: now[0],
    )  # fmt: skip
    await seam.apply(spec())
    cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
    [replica] = await seam.observe(DEP_ID, "predictor")
    assert replica.usage.memory_bytes is None and "not measured" in replica.usage.note
    assert seam.report(DEP_ID).notes == ()  # the cluster has the API: nothing to say
    metrics = {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": "iris-predictor-a", "namespace": NS},
        "window": "15s",
        "containers": [{"name": "runtime", "usage": {"cpu": "10m", "memory": "64Mi"}}],
    }
    cluster.put("PodMetrics", NS, "iris-predictor-a", metrics)  # fmt: skip
    [replica] = await seam.observe(DEP_ID, "predictor")
    assert replica.usage.memory_bytes is None  # read at most every 15 s
    now[0] += 16
    [replica] = await seam.observe(DEP_ID, "predictor")
    assert replica.usage.memory_bytes == 64 * 2**20 and replica.usage.cpu_cores == 0.01


async def test_a_cluster_without_a_metrics_api_is_noted_once(tmp_path):
    async with running_cluster(metrics_api=False) as bare:
        seam = components(bare, tmp_path)
        await seam.apply(spec(instances=2))
        for name in ("iris-predictor-a", "iris-predictor-b"):
            bare.put("Pod", NS, name, ready_pod(name))
        replicas = await seam.observe(DEP_ID, "predictor")
        assert [r.usage.memory_bytes for r in replicas] == [None, None]
        assert seam.report(DEP_ID).notes == (
            "this cluster has no metrics API (metrics.k8s.io, served by metrics-server): "
            "no usage shown",
        )


async def test_a_refused_apply_is_reported_what_runs_stays_and_a_later_apply_clears_it(
    cluster, tmp_path
):
    seam = components(cluster, tmp_path)
    await seam.apply(spec())
    cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
    [applied] = seam.report(DEP_ID).conditions
    assert (applied.type, applied.status) == (ConditionType.APPLIED, ConditionStatus.TRUE)
    deployment = f"/apis/apps/v1/namespaces/{NS}/deployments/iris-predictor"
    invalid = 'Deployment.apps "iris-predictor" is invalid: spec.replicas: Invalid value: -1'
    cluster.refuse_next("PATCH", deployment, 422, "Invalid", invalid)
    await seam.apply(spec(instances=3))  # never raises: the pass goes on observing
    [refused] = seam.report(DEP_ID).conditions
    assert (refused.status, refused.reason) == (ConditionStatus.FALSE, "Refused")
    assert refused.message.startswith(
        "the API server refused the Deployment iris-predictor: 422 Invalid: "
        'Deployment.apps "iris-predictor" is invalid: spec.replicas'
    )
    [replica] = await seam.observe(DEP_ID, "predictor")  # nothing running is lost
    assert replica.health is Health.READY
    sent = cluster.writes().count(("PATCH", deployment))
    await seam.apply(spec(instances=3))  # the same input: sent again, not skipped as applied
    assert cluster.writes().count(("PATCH", deployment)) == sent + 1
    [applied] = seam.report(DEP_ID).conditions
    assert applied.status is ConditionStatus.TRUE
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 3


async def test_server_errors_that_outlast_the_retries_are_reported_with_their_code(
    cluster, tmp_path
):
    seam = components(cluster, tmp_path)
    await seam.apply(spec())
    cluster.fail_next("PATCH", 4, 503)
    await seam.apply(spec(instances=2))
    [failed] = seam.report(DEP_ID).conditions
    assert (failed.status, failed.reason) == (ConditionStatus.FALSE, "ApiUnavailable")
    assert "the API server did not take the ConfigMap iris-shipyard" in failed.message
    assert "failed 4 times: 503" in failed.message
    await seam.remove(DEP_ID, "predictor")  # a stop after a failure is sent, and clears it
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 0
    assert seam.report(DEP_ID).conditions[0].status is ConditionStatus.TRUE


async def test_the_status_gives_the_services_cluster_address(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    assert seam.report(DEP_ID).addresses == {}
    await seam.apply(spec())
    await seam.observe(DEP_ID, "predictor")
    assert seam.report(DEP_ID).addresses == {
        "predictor": "http://iris-predictor.shipyard-demo.svc.cluster.local"
    }


async def test_the_status_gives_the_inference_services_url_and_addresses(cluster, tmp_path):
    seam = components(cluster, tmp_path, ServingTool.KSERVE)
    await seam.apply(spec("predictor"))
    await seam.apply(spec("transformer"))
    isvc = cluster.get("InferenceService", NS, "iris")
    isvc["status"] = {
        "url": "http://iris.shipyard-demo.example.com",
        "address": {"url": "http://iris.shipyard-demo.svc.cluster.local"},
        "components": {
            "predictor": {"url": "http://iris-predictor.shipyard-demo.example.com"},
            "transformer": {
                "address": {"url": "http://iris-transformer.shipyard-demo.svc.cluster.local"}
            },
        },
    }
    cluster.put("InferenceService", NS, "iris", isvc)  # as KServe's controller reports
    await seam.observe(DEP_ID, "predictor")
    assert seam.report(DEP_ID).addresses == {
        "url": "http://iris.shipyard-demo.example.com",
        "address": "http://iris.shipyard-demo.svc.cluster.local",
        "predictor": "http://iris-predictor.shipyard-demo.example.com",
        "transformer": "http://iris-transformer.shipyard-demo.svc.cluster.local",
    }


async def test_pods_of_the_template_a_rollout_replaces_are_reported_outdated(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    await seam.apply(spec())
    old = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]["metadata"]
    bigger = spec(
        resources=ComponentResources(
            requests=Resources(cores=1, memory=512), limits=Resources(cores=2, memory=1024)
        )
    )
    bigger = replace(bigger, revision=2, template="tpl-2")
    await seam.apply(bigger)
    new = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]["metadata"]
    assert new["labels"][naming.TEMPLATE] != old["labels"][naming.TEMPLATE]
    for name, meta in (("iris-predictor-old", old), ("iris-predictor-new", new)):
        pod = ready_pod(name)
        pod["metadata"]["labels"] = meta["labels"]
        cluster.put("Pod", NS, name, pod)
    replicas = {r.replica_id: r.template for r in await seam.observe(DEP_ID, "predictor")}
    assert replicas["iris-predictor-new"] == "tpl-2"
    assert replicas["iris-predictor-old"].startswith("outdated:")


async def test_without_a_runtime_image_the_apply_says_which_setting_to_set(cluster, tmp_path):
    backend = KubernetesBackend(cluster.api, Tokens())
    seam = ClusterComponents(ServingTool.KUBERNETES, backend, settings(tmp_path), lambda _: "d")
    with pytest.raises(InvalidSpec, match="SHIPYARD_KUBE_RUNTIME_IMAGE"):
        await seam.apply(spec())


async def test_kserve_pods_are_not_routed_while_kserve_says_not_ready(cluster, tmp_path):
    now = [0.0]
    seam = ClusterComponents(
        ServingTool.KSERVE, KServeBackend(cluster.api, Tokens()), settings(tmp_path),
        {"p1": "demo"}.__getitem__, images=images_of, clock=lambda: now[0],
    )  # fmt: skip
    await seam.apply(spec("predictor"))
    pod = ready_pod("iris-predictor-00001-deployment-a")
    pod["metadata"]["labels"] = {
        "serving.kserve.io/inferenceservice": "iris",
        "component": "predictor",
    }
    cluster.put("Pod", NS, pod["metadata"]["name"], pod)
    [replica] = await seam.observe(DEP_ID, "predictor")
    assert replica.health is Health.STARTING  # KServe has not reported Ready yet
    isvc = cluster.get("InferenceService", NS, "iris")
    ready = [{"type": t, "status": "True"} for t in ("PredictorReady", "IngressReady", "Ready")]
    isvc["status"] = {"conditions": ready, "url": "http://iris.shipyard-demo.example.com"}
    cluster.put("InferenceService", NS, "iris", isvc)
    now[0] += 1  # the next pass (one observation is reused within a pass)
    [replica] = await seam.observe(DEP_ID, "predictor")
    assert replica.health is Health.READY
    assert replica.url == "http://iris-predictor.shipyard-demo.svc.cluster.local"


async def test_nothing_is_applied_while_the_image_is_being_built(cluster, tmp_path):
    ready = [False]

    def images(spec: ComponentSpec) -> str:
        if not ready[0]:
            raise ImageNotReady("building the runtime image env:abc123")
        return images_of(spec)

    backend = KubernetesBackend(cluster.api, Tokens())
    seam = ClusterComponents(
        ServingTool.KUBERNETES, backend, settings(tmp_path), lambda _: "demo", images=images
    )
    await seam.apply(spec())
    assert cluster.all("Deployment") == [] and await seam.observe(DEP_ID, "predictor") == []
    ready[0] = True
    await seam.apply(spec())
    assert cluster.get("Deployment", NS, "iris-predictor") is not None


async def test_the_autoscalers_floor_follows_the_controllers_decision(cluster, tmp_path):
    seam = components(cluster, tmp_path)
    scaling = ScalingConfig(min_instances=1, max_instances=5)
    await seam.apply(spec(instances=1, scaling=scaling))
    assert cluster.get("HorizontalPodAutoscaler", NS, "iris-predictor")["spec"]["minReplicas"] == 1
    template = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]
    await seam.apply(spec(instances=4, scaling=scaling))  # traffic grew: the controller says 4
    hpa = cluster.get("HorizontalPodAutoscaler", NS, "iris-predictor")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (4, 5)
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"] == template


async def test_a_kserve_predictor_behind_kserves_batcher_says_it_admits_anyone(cluster, tmp_path):
    seam = components(cluster, tmp_path, ServingTool.KSERVE)
    await seam.apply(spec("predictor"))
    assert not any("batcher" in n for n in seam.report(DEP_ID).notes)
    await seam.apply(spec("predictor", batching=InferenceBatcher(enabled=True)))
    [note] = [n for n in seam.report(DEP_ID).notes if "batcher" in n]
    assert "cannot demand the replica token" in note
    isvc = cluster.get("InferenceService", NS, "iris")
    assert "--token-file" not in isvc["spec"]["predictor"]["containers"][0]["args"]


async def test_a_spec_this_servers_settings_cannot_render_is_reported_not_raised(cluster, tmp_path):
    """Made in Serverless mode, scaled to zero; the server now runs KServe in Standard mode."""
    standard = ServerSettings(
        home=tmp_path,
        kube_shipyard_url="http://shipyard.shipyard:8470",
        kserve_deployment_mode="Standard",
    )
    seam = ClusterComponents(
        ServingTool.KSERVE, KServeBackend(cluster.api, Tokens()), standard,
        {"p1": "demo"}.__getitem__, images=images_of,
    )  # fmt: skip
    await seam.apply(spec("predictor", instances=0))
    [invalid] = seam.report(DEP_ID).conditions
    assert (invalid.status, invalid.reason) == (ConditionStatus.FALSE, "Invalid")
    assert invalid.message.startswith("the objects cannot be rendered: ")
    assert "scale-to-zero" in invalid.message
    assert cluster.all("InferenceService") == []


async def test_an_api_that_stops_answering_keeps_the_pods_as_last_seen_and_says_so(
    cluster, tmp_path
):
    now = [0.0]
    seam = ClusterComponents(
        ServingTool.KUBERNETES, KubernetesBackend(cluster.api, Tokens()), settings(tmp_path),
        {"p1": "demo"}.__getitem__, images=images_of, clock=lambda: now[0],
    )  # fmt: skip
    await seam.apply(spec())
    cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
    [replica] = await seam.observe(DEP_ID, "predictor")
    now[0] += 1
    cluster.fail_next("GET", 4, 503)  # every try of the next read
    [kept] = await seam.observe(DEP_ID, "predictor")
    assert (kept.replica_id, kept.health) == (replica.replica_id, Health.READY)
    [note] = seam.report(DEP_ID).notes
    assert note.startswith("the cluster's API did not answer") and "503" in note
    now[0] += 1
    await seam.observe(DEP_ID, "predictor")
    assert seam.report(DEP_ID).notes == ()
