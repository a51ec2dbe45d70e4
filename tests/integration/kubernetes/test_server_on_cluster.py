"""The whole path on an emulated cluster: ``shipyard server`` with KUBERNETES configured, a
deploy through the API, the controller applying objects through the component seam, the test
playing the cluster (a ready pod; the runtime started as the kubelet would, with the token of the
replica Secret the server wrote), RUNNING, a prediction through the gateway to that runtime where
the Service would be, then stop and delete."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.gateway.fakes import free_port
from tests.integration.kubernetes.emulator import Cluster, cluster_key, running_cluster
from tests.integration.kubernetes.test_gateway_forwarding import pod_runtime
from tests.integration.system.conftest import Server, own_server, upload, wait_state, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NS = "shipyard-default"
UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient memory."
T = TypeVar("T")


class ClusterThread:
    """The emulator on its own event loop in a thread, so a server process can call it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stop: asyncio.Event | None = None
        self.cluster: Cluster | None = None
        self.url = ""

    def start(self) -> None:
        self._thread.start()
        ready: Future[None] = Future()

        async def serve() -> None:
            async with running_cluster(namespaces=(NS,)) as cluster:
                self.cluster = cluster
                self.url = cluster.url
                self._stop = asyncio.Event()
                ready.set_result(None)
                await self._stop.wait()

        self._task = asyncio.run_coroutine_threadsafe(serve(), self._loop)
        ready.result(timeout=30)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        async def run() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def stop(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._task.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def cluster() -> Iterator[ClusterThread]:
    thread = ClusterThread()
    thread.start()
    yield thread
    thread.stop()


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f'clusters: [{{name: e, cluster: {{server: "{server}"}}}}]\n'
        'users: [{name: u, user: {token: "t"}}]\n'
        "contexts: [{name: ctx, context: {cluster: e, user: u}}]\ncurrent-context: ctx\n"
    )
    return path


@pytest.fixture
def pod_port() -> int:
    return free_port()


@pytest.fixture
def server(cluster: ClusterThread, pod_port: int, tmp_path: Path) -> Iterator[Server]:
    runtime = f"http://127.0.0.1:{pod_port}"
    extra = {
        "SHIPYARD_KUBE_SHIPYARD_URL": "http://shipyard.shipyard-system:8470",
        "SHIPYARD_KUBE_CONFIG": str(kubeconfig(tmp_path / "kubeconfig", cluster.url)),
        "SHIPYARD_KUBE_RUNTIME_IMAGE": "registry.example.com/shipyard/runtime:1",
        "SHIPYARD_KUBE_EXTERNAL_URL": runtime,  # where the Service would be, seen from outside
    }
    with own_server(tmp_path, **extra) as srv:
        model_dir = tmp_path / "echo"
        model_dir.mkdir()
        (model_dir / "predictor.py").write_text(
            "class Predictor:\n    def predict(self, inputs):\n        return inputs\n"
        )
        with srv.client() as api:
            upload(api, "echo", model_dir, framework="python")
        yield srv


def test_deploy_run_predict_stop_delete_on_a_cluster(
    cluster: ClusterThread, server: Server, pod_port: int, tmp_path: Path
) -> None:
    assert cluster.cluster is not None
    c = cluster.cluster
    spec = {"name": "echo", "serving_tool": "KUBERNETES",
            "predictor": {"model_name": "echo", "model_version": 1}}  # fmt: skip
    with server.client() as api:
        answer = api.post("/deployments", json={"spec": spec})
        assert answer.status_code == 201, answer.text

        def applied() -> dict[str, Any] | None:
            return cluster.call(c.get, "Deployment", NS, "echo-predictor")

        live = wait_until(applied, 60, "the Deployment on the cluster")
        labels = live["spec"]["template"]["metadata"]["labels"]
        pending = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "echo-predictor-x0", "namespace": NS, "labels": labels},
            "spec": {"containers": [{"name": "runtime"}]},
            "status": {"conditions": [{"type": "PodScheduled", "status": "False",
                                       "reason": "Unschedulable", "message": UNSCHEDULABLE}]},
        }  # fmt: skip
        cluster.call(c.put, "Pod", NS, "echo-predictor-x0", pending)

        def scheduled_false() -> dict[str, Any] | None:
            status = api.get("/deployments/echo").json()["status"]
            found = [x for x in status["conditions"] if x["type"] == "SCHEDULED"]
            return status if found and found[0]["status"] == "False" else None

        status = wait_until(scheduled_false, 60, "SCHEDULED=False")
        scheduled = next(x for x in status["conditions"] if x["type"] == "SCHEDULED")
        assert scheduled["message"].endswith(UNSCHEDULABLE) and status["state"] != "RUNNING"
        cluster.call(c.emulator.objects[cluster_key("Pod", NS, "echo-predictor-x0")].delete)
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "echo-predictor-x1", "namespace": NS, "labels": labels},
            "spec": {"containers": [{"name": "runtime"}]},
            "status": {"conditions": [{"type": "PodScheduled", "status": "True"},
                                      {"type": "Ready", "status": "True"}]},
        }  # fmt: skip
        metrics = {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                   "metadata": {"name": "echo-predictor-x1", "namespace": NS}, "window": "15s",
                   "containers": [{"name": "runtime", "usage": {"cpu": "125m",
                                                                "memory": "48Mi"}}]}  # fmt: skip
        cluster.call(c.put, "PodMetrics", NS, "echo-predictor-x1", metrics)  # metrics-server
        cluster.call(c.put, "Pod", NS, "echo-predictor-x1", pod)
        status = wait_state(api, "echo", "RUNNING", timeout=60)
        assert status["available_instances"]["predictor"] == 1
        # the REST status: the Service's direct address, APPLIED, the pod's usage vs its request
        assert status["addresses"] == {"predictor": f"http://echo-predictor.{NS}.svc.cluster.local"}
        took = next(x for x in status["conditions"] if x["type"] == "APPLIED")
        assert took["status"] == "True"
        [replica] = status["replicas"]
        usage = replica["usage"]
        assert (usage["cpu_cores"], usage["memory_mb"]) == (0.125, 48.0)
        assert usage["requests"]["memory"] == 32 and usage["enforcement"] == "kubernetes"

        def sampled() -> list[dict[str, Any]] | None:  # the /usage history, sampled every 2 s
            history = api.get("/deployments/echo/usage", params={"window_s": 600}).json()
            found = [s for r in history["replicas"] for s in r["samples"] if s["cpu_cores"]]
            return found or None

        [first, *_] = wait_until(sampled, 30, "a usage sample in the history")
        assert (first["cpu_cores"], first["memory_mb"]) == (0.125, 48.0)
        secret = cluster.call(c.get, "Secret", NS, "echo-model")
        assert secret["stringData"]["token"].startswith("sym1.")

        token = cluster.call(c.get, "Secret", NS, "echo-replica")["stringData"]["token"]
        with pod_runtime(tmp_path / "pod", pod_port, token.encode()) as pod_url:
            predicted = httpx.post(
                f"{server.gateway}/v1/models/echo:predict",
                json={"instances": [[1, 2]]},
                headers={"Authorization": f"ApiKey {server.key}"},
                timeout=10,
            )
            assert predicted.status_code == 200, predicted.text
            assert predicted.json() == {"predictions": [3]}
            bare = httpx.post(f"{pod_url}/v1/models/echo:predict", json={"instances": [[1]]})
            assert bare.status_code == 401  # another pod of the cluster, without the token

        assert api.post("/deployments/echo/stop").status_code == 200
        wait_until(lambda: applied()["spec"]["replicas"] == 0, 30, "replicas 0 after the stop")
        assert api.delete("/deployments/echo").status_code in (200, 202, 204)
        wait_until(lambda: applied() is None, 60, "the Deployment deleted")
        wait_until(lambda: cluster.call(c.all, "ConfigMap", NS) == [], 30, "the anchor deleted")
        for kind in ("Service", "Secret"):
            assert cluster.call(c.all, kind, NS) == []
