"""KubernetesBackend against a Kubernetes API emulator on loopback; the tests play the cluster."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from shipyard.backends.cluster import naming
from shipyard.backends.cluster.inputs import ClusterTarget
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.client import ClusterUnavailable
from shipyard.backends.kubernetes.engine import ClusterDeployment
from shipyard.spec.deployment import Component, DeploymentSpec, PredictorSpec, ServingTool
from shipyard.spec.resources import PredictorResources, Resources
from shipyard.spec.scaling import ScalingConfig
from shipyard.spec.status import ConditionStatus, ConditionType
from shipyard.wire.replica_token import ReplicaTokens, project_token
from tests.integration.kubernetes.emulator import Cluster, cluster_key, running_cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

NS = "shipyard-demo"
DEP_ID = "5e0c1d2a3b4c5d6e7f8091a2b3c4d5e6"
IMAGE = "registry.example.com/shipyard/runtime:env-1"


class Tokens:
    ttl_s = 3600.0
    """Mints tokens the way the server would, counting them."""

    def __init__(self) -> None:
        self.minted: list[tuple[str, str, int]] = []

    def mint(self, project_id: str, model_name: str, model_version: int) -> str:
        self.minted.append((project_id, model_name, model_version))
        return f"token-{len(self.minted)}"


def deployment(
    revision: int = 1, instances: int = 1, memory: int = 128, **predictor: Any
) -> ClusterDeployment:
    res = PredictorResources(
        num_instances=instances,
        requests=Resources(cores=0.5, memory=memory),
        limits=Resources(cores=1, memory=memory * 2),
    )
    spec = DeploymentSpec(
        name="iris",
        serving_tool=ServingTool.KUBERNETES,
        predictor=PredictorSpec(model_name="iris", model_version=1, resources=res, **predictor),
    )
    target = ClusterTarget(namespace=NS, api_url="http://shipyard.shipyard:8470")
    return ClusterDeployment(
        deployment_id=DEP_ID, project_id="proj", revision=revision, spec=spec, target=target,
        images={Component.PREDICTOR: IMAGE}, framework="sklearn",
    )  # fmt: skip


@pytest.fixture
async def cluster():
    async with running_cluster() as c:
        yield c


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
def backend(cluster: Cluster, tokens: Tokens) -> KubernetesBackend:
    return KubernetesBackend(cluster.api, tokens)


def _pod(name: str, **status: Any) -> dict[str, Any]:
    labels = naming.component_labels(DEP_ID, "iris", "proj", Component.PREDICTOR)
    container = {
        "name": "runtime",
        "image": IMAGE,
        "resources": {"requests": {"cpu": "500m", "memory": "128Mi"}},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [container]},
        "status": status,
    }


def _ready_pod(name: str) -> dict[str, Any]:
    return _pod(
        name,
        phase="Running",
        podIP="10.0.0.7",
        conditions=[
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-05T08:00:00Z"},
        ],
        containerStatuses=[{"name": "runtime", "ready": True, "restartCount": 0, "state": {}}],
    )


async def test_create_applies_the_objects_with_the_exact_resources(cluster, backend, tokens):
    await backend.apply(deployment(instances=2))
    live = cluster.get("Deployment", NS, "iris-predictor")
    assert live is not None and live["spec"]["replicas"] == 2
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "128Mi"}}
    assert container["image"] == IMAGE
    anchor = cluster.get("ConfigMap", NS, "iris-shipyard")
    assert anchor is not None
    owner = live["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"]) == ("ConfigMap", anchor["metadata"]["uid"])
    service = cluster.get("Service", NS, "iris-predictor")
    assert service["spec"]["selector"] == naming.selector(DEP_ID, Component.PREDICTOR)
    assert cluster.get("Secret", NS, "iris-model")["stringData"] == {"token": "token-1"}
    assert tokens.minted == [("proj", "iris", 1)]


async def test_a_pass_with_nothing_new_sends_nothing_until_the_resync(cluster, tokens):
    now = [0.0]
    backend = KubernetesBackend(cluster.api, tokens, clock=lambda: now[0])
    await backend.apply(deployment())
    requests = len(list(cluster.emulator))
    await backend.apply(deployment())
    assert len(list(cluster.emulator)) == requests and len(tokens.minted) == 1
    cluster.emulator.objects[cluster_key("Service", NS, "iris-predictor")].delete()  # by hand
    now[0] += 61  # the resync applies everything again and repairs what was changed
    await backend.apply(deployment())
    assert cluster.get("Service", NS, "iris-predictor") is not None
    assert len(tokens.minted) == 1


async def test_failed_scheduling_is_scheduled_false_with_the_schedulers_message(cluster, backend):
    await backend.apply(deployment())
    message = "0/3 nodes are available: 3 Insufficient memory."
    pending = _pod(
        "iris-predictor-abc",
        phase="Pending",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    )
    cluster.put("Pod", NS, "iris-predictor-abc", pending)
    event = {
        "apiVersion": "v1", "kind": "Event", "reason": "FailedScheduling", "message": message,
        "metadata": {"name": "iris-predictor-abc.1", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "iris-predictor-abc", "namespace": NS},
        "lastTimestamp": "2026-12-05T08:00:00Z",
    }  # fmt: skip
    cluster.put("Event", NS, "iris-predictor-abc.1", event)
    view = (await backend.observe(deployment())).components[Component.PREDICTOR]
    scheduled = view.condition(ConditionType.SCHEDULED)
    assert (scheduled.status, scheduled.message) == (ConditionStatus.FALSE, message)
    assert not view.serving


async def test_ready_pods_make_it_serving_and_routed_to_the_service(cluster, backend):
    await backend.apply(deployment())
    cluster.put("Pod", NS, "iris-predictor-1", _ready_pod("iris-predictor-1"))
    view = await backend.observe(deployment())
    component = view.components[Component.PREDICTOR]
    assert component.serving and component.ready == 1
    assert view.urls[Component.PREDICTOR] == (
        "http://iris-predictor.shipyard-demo.svc.cluster.local"
    )
    assert all(c.status is ConditionStatus.TRUE for c in component.conditions)


async def test_oom_killed_is_reported_with_the_memory_it_had(cluster, backend):
    await backend.apply(deployment())
    crashed = _pod(
        "iris-predictor-2",
        phase="Running",
        conditions=[
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "False"},
        ],
        containerStatuses=[{
            "name": "runtime", "ready": False, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
        }],
    )  # fmt: skip
    cluster.put("Pod", NS, "iris-predictor-2", crashed)
    cluster.put("Pod", NS, "iris-predictor-1", _ready_pod("iris-predictor-1"))
    component = (await backend.observe(deployment())).components[Component.PREDICTOR]
    started = component.condition(ConditionType.STARTED)
    assert started.status is ConditionStatus.FALSE and started.reason == "CrashLoopBackOff"
    assert "OOMKilled" in started.message and "128Mi requested" in started.message
    assert not component.serving  # one ready pod is enough in count, but one crash-loops
    assert component.pods[0].last_exit is not None or component.pods[1].last_exit is not None


async def test_image_pull_errors_keep_their_reason(cluster, backend):
    await backend.apply(deployment())
    pulling = _pod(
        "iris-predictor-3",
        phase="Pending",
        conditions=[{"type": "PodScheduled", "status": "True"}],
        containerStatuses=[{
            "name": "runtime", "ready": False, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff",
                                  "message": f'Back-off pulling image "{IMAGE}"'}},
        }],
    )  # fmt: skip
    cluster.put("Pod", NS, "iris-predictor-3", pulling)
    component = (await backend.observe(deployment())).components[Component.PREDICTOR]
    started = component.condition(ConditionType.STARTED)
    assert started.reason == "ImagePullBackOff" and IMAGE in started.message


async def test_scaling_patches_replicas_and_keeps_the_pod_template(cluster, backend):
    await backend.apply(deployment(revision=1, instances=1))
    template = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]
    await backend.apply(deployment(revision=2, instances=3))
    live = cluster.get("Deployment", NS, "iris-predictor")
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"] == template  # nothing rolls on a scale


async def test_an_update_rolls_out_surge_first(cluster, backend):
    await backend.apply(deployment(revision=1))
    await backend.apply(deployment(revision=2, memory=256))
    spec = cluster.get("Deployment", NS, "iris-predictor")["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["memory"] == "256Mi"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["DEPLOYMENT_VERSION"] == "2"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


async def test_stop_keeps_the_objects_and_start_brings_the_replicas_back(cluster, backend):
    await backend.apply(deployment(instances=2))
    await backend.stop(deployment(instances=2))
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 0
    assert cluster.get("ConfigMap", NS, "iris-shipyard")["data"]["stopped"] == "true"
    await backend.apply(deployment(instances=2))
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 2


async def test_removing_autoscaling_deletes_the_autoscaler(cluster, backend):
    scaled = deployment(scaling=ScalingConfig(min_instances=1, max_instances=4))
    await backend.apply(scaled)
    assert cluster.get("HorizontalPodAutoscaler", NS, "iris-predictor") is not None
    await backend.apply(deployment(revision=2))
    assert cluster.get("HorizontalPodAutoscaler", NS, "iris-predictor") is None


async def test_delete_removes_every_object_it_made_and_nothing_else(cluster, backend):
    users = {"apiVersion": "v1", "kind": "ConfigMap", "data": {},
             "metadata": {"name": "users-own", "namespace": NS}}  # fmt: skip
    cluster.put("ConfigMap", NS, "users-own", users)
    await backend.apply(deployment(scaling=ScalingConfig(min_instances=1, max_instances=2)))
    deleted = await backend.delete(DEP_ID, NS)
    assert deleted == 6  # anchor, two secrets, deployment, service, autoscaler; nothing else
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "Secret"):
        assert cluster.all(kind, NS) == []
    assert [c["metadata"]["name"] for c in cluster.all("ConfigMap", NS)] == ["users-own"]


async def test_a_restarted_server_adopts_instead_of_duplicating(cluster, backend, tokens):
    await backend.apply(deployment(revision=3))
    restarted = KubernetesBackend(cluster.api, tokens)
    [adopted] = await restarted.adopt()
    assert (adopted.deployment_id, adopted.namespace, adopted.revision) == (DEP_ID, NS, 3)
    before = len(cluster.writes())
    await restarted.apply(deployment(revision=3))
    assert all(method == "PATCH" for method, _ in cluster.writes()[before:])  # no create
    assert len(cluster.all("Deployment", NS)) == 1 and len(tokens.minted) == 1


async def test_server_errors_are_retried_and_nothing_is_lost(cluster, backend):
    await backend.apply(deployment(revision=1))
    cluster.fail_next("PATCH", 2, 503)
    await backend.apply(deployment(revision=2, instances=4))
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 4
    assert cluster.sleeps == [0.2, 0.4] and backend.api.retries == 2


async def test_errors_that_do_not_clear_are_reported_and_the_next_pass_converges(cluster, backend):
    await backend.apply(deployment(revision=1))
    cluster.fail_next("PATCH", 4, 500)
    with pytest.raises(ClusterUnavailable, match="failed 4 times: 500"):
        await backend.apply(deployment(revision=2, instances=3))
    view = await backend.observe(deployment(revision=2, instances=3))
    assert "failed 4 times" in view.message
    await backend.apply(deployment(revision=2, instances=3))
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 3


async def test_conflicts_on_updates_are_retried(cluster, backend):
    await backend.apply(deployment(revision=1))
    cluster.fail_next("PATCH", 1, 409)
    await backend.apply(deployment(revision=2, instances=2))
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["replicas"] == 2


async def test_logs_come_from_the_pod_log_api(cluster, backend):
    await backend.apply(deployment())
    cluster.put("Pod", NS, "iris-predictor-1", _ready_pod("iris-predictor-1"))
    path = f"/api/v1/namespaces/{NS}/pods/iris-predictor-1/log"
    cluster.emulator[path] << b"loading model\nready on :8080\n"
    lines = await asyncio.to_thread(backend.logs, deployment(), Component.PREDICTOR, 10)
    assert [(x.replica_id, x.line) for x in lines] == [
        ("iris-predictor-1", "loading model"),
        ("iris-predictor-1", "ready on :8080"),
    ]


async def test_usage_comes_from_the_metrics_apis_pod_metrics(cluster, backend):
    waiting = await asyncio.to_thread(backend.usage, NS, "iris-predictor-1")
    assert waiting.usage is None and not waiting.no_metrics_api  # served, pod not measured yet
    assert waiting.note == "the metrics API has not measured this pod yet"
    metrics = {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
               "metadata": {"name": "iris-predictor-1", "namespace": NS}, "window": "15s",
               "containers": [{"name": "runtime", "usage": {"cpu": "250000000n",
                                                            "memory": "65536Ki"}}]}  # fmt: skip
    cluster.put("PodMetrics", NS, "iris-predictor-1", metrics)  # as metrics-server serves it
    found = await asyncio.to_thread(backend.usage, NS, "iris-predictor-1")
    assert found.usage is not None
    assert (found.usage.cpu_cores, found.usage.memory_mb) == (0.25, 64.0)


async def test_a_cluster_without_the_metrics_api_says_so():
    async with running_cluster(metrics_api=False) as bare:
        backend = KubernetesBackend(bare.api, Tokens())
        missing = await asyncio.to_thread(backend.usage, NS, "iris-predictor-1")
    assert missing.usage is None and missing.no_metrics_api
    assert missing.note == (
        "this cluster has no metrics API (metrics.k8s.io, served by metrics-server): no usage shown"
    )


async def test_the_model_token_is_minted_again_at_half_its_lifetime(cluster, tokens):
    now = [1000.0]
    backend = KubernetesBackend(cluster.api, tokens, clock=lambda: now[0])
    await backend.apply(deployment())
    await backend.apply(deployment())
    assert len(tokens.minted) == 1
    now[0] += tokens.ttl_s / 2 + 1
    await backend.apply(deployment())
    assert len(tokens.minted) == 2
    assert cluster.get("Secret", NS, "iris-model")["stringData"] == {"token": "token-2"}


async def test_a_namespace_it_may_not_read_is_taken_as_given(cluster, backend):
    cluster.emulator["get /api/v1/namespaces/locked"] << 403
    locked = deployment()
    locked = replace(locked, target=replace(locked.target, namespace="locked"))
    await backend.apply(locked)  # no attempt to create it (that would fail here)
    assert cluster.get("Deployment", "locked", "iris-predictor") is not None


async def test_pods_get_their_projects_replica_token_from_a_secret(cluster, tokens):
    backend = KubernetesBackend(cluster.api, tokens, replica_tokens=ReplicaTokens("s3cret"))
    applied = await asyncio.to_thread(backend.engine.apply, deployment())
    secret = cluster.get("Secret", NS, "iris-replica")
    assert secret["stringData"] == {"token": project_token("s3cret", "proj").decode()}
    assert secret["metadata"]["labels"][naming.DEPLOYMENT_ID] == DEP_ID  # deleted with it
    assert secret["metadata"]["ownerReferences"][0]["name"] == "iris-shipyard"
    pod = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == "iris-replica"
    container = pod["containers"][0]
    assert {"name": volume["name"], "mountPath": "/var/run/shipyard", "readOnly": True} in (
        container["volumeMounts"]
    )
    args = container["args"]
    assert args[args.index("--token-file") + 1] == "/var/run/shipyard/replica-token"
    assert "--health-without-token" in args  # the kubelet's probes carry no token
    token = secret["stringData"]["token"]
    assert token not in str(applied)  # what apply hands back (and keeps) never holds it


async def test_a_changed_replica_token_is_written_and_rolls_the_pods(cluster, tokens):
    """A server whose internal token changed (its file deleted) rewrites the Secret, and the
    pods, which read it once at start, are replaced by the Deployment's rolling update."""
    first = KubernetesBackend(cluster.api, tokens, replica_tokens=ReplicaTokens("s3cret"))
    await asyncio.to_thread(first.engine.apply, deployment())
    before = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]["metadata"]
    restarted = KubernetesBackend(cluster.api, tokens, replica_tokens=ReplicaTokens("n3w"))
    await asyncio.to_thread(restarted.engine.apply, deployment())
    secret = cluster.get("Secret", NS, "iris-replica")
    assert secret["stringData"] == {"token": project_token("n3w", "proj").decode()}
    after = cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]["metadata"]
    digest = naming.REPLICA_TOKEN_DIGEST
    assert before["annotations"][digest] != after["annotations"][digest]
    assert before["labels"][naming.TEMPLATE] != after["labels"][naming.TEMPLATE]
    again = KubernetesBackend(cluster.api, tokens, replica_tokens=ReplicaTokens("n3w"))
    await asyncio.to_thread(again.engine.apply, deployment())  # same token: nothing rolls
    assert cluster.get("Deployment", NS, "iris-predictor")["spec"]["template"]["metadata"] == after


async def test_without_a_token_source_the_secret_keeps_its_placeholder(cluster, backend):
    await backend.apply(deployment())
    secret = cluster.get("Secret", NS, "iris-replica")
    assert secret["stringData"]["token"] == "<the project's replica token, written when applied>"
