"""Limits enforced on real replicas: OOM kills reported, CPU quota held, GPUs exclusive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import shipyard
from tests.integration.system.conftest import (
    Server,
    deploy,
    own_server,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration

HOG = """
class Predictor:
    def __init__(self):
        self.blocks = []
    def predict(self, inputs):
        for _ in range(40):  # 40 x 20 MB, well beyond a 200 MiB limit
            block = bytearray(20 * 1024 * 1024)
            block[::4096] = b"x" * len(block[::4096])
            self.blocks.append(block)
        return [len(self.blocks)]
"""

LOAD_HOG = HOG.replace("self.blocks = []", "self.blocks = []\n        self.predict(None)")

BUSY = """
import threading

def spin():
    while True:
        pass

class Predictor:
    def __init__(self):
        threading.Thread(target=spin, daemon=True).start()
    def predict(self, inputs):
        return inputs
"""

GPU = """
import os

class Predictor:
    def predict(self, inputs):
        return [os.environ.get("CUDA_VISIBLE_DEVICES", "")]
"""


def script_model(root: Path, name: str, source: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "predictor.py").write_text(source)
    return folder


def limited(memory: int = 200, cores: float = 1.0, gpus: int = 0) -> dict:
    return {
        "script_file": "predictor.py",
        "resources": {
            "num_instances": 1,
            "requests": {"cores": 0.1, "memory": 64, "gpus": gpus},
            "limits": {"cores": cores, "memory": memory, "gpus": gpus},
        },
    }


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("limits"), SHIPYARD_GPUS="0,1") as srv:
        yield srv


def test_a_replica_beyond_its_memory_limit_is_oom_killed_and_reported(node: Server, tmp_path):
    with node.client() as api:
        model = upload(api, "hog", script_model(tmp_path, "hog", HOG), framework="python")
        deploy(api, "hog", model, **limited(memory=200))
        wait_state(api, "hog", "RUNNING")
        answer = httpx.post(
            f"{node.gateway}/v1/models/hog:predict",
            json={"instances": [1]},
            headers={"Authorization": f"ApiKey {node.key}"},
            timeout=60,
        )
        assert answer.status_code >= 500  # the replica died while answering

        def oom_reported():
            status = state_of(api, "hog")
            exits = [r["last_exit"] for r in status["replicas"] if r["last_exit"]]
            return exits[0] if exits and exits[0]["reason"] == "OOMKilled" else None

        exit_ = wait_until(oom_reported, 15, "the OOM kill to be reported")
        assert "memory limit 200 MiB exceeded" in exit_["message"]
        assert "peak" in exit_["message"] and "raise limits.memory" in exit_["message"]
        wait_state(api, "hog", "RUNNING")  # restarted: it only dies when asked to predict


def test_a_model_that_cannot_load_within_its_memory_raises_model_serve_error(
    node: Server, tmp_path
):
    with node.client() as api:
        upload(api, "load-hog", script_model(tmp_path, "lh", LOAD_HOG), framework="python")
    with shipyard.login(host=node.api, api_key=node.key) as project:
        model = project.get_model_registry().get_model("load-hog")
        resources = shipyard.PredictorResources(
            num_instances=1,
            requests=shipyard.Resources(cores=0.1, memory=64),
            limits=shipyard.Resources(cores=1, memory=200),
        )
        predictor = project.get_model_serving().create_predictor(
            model, script_file="predictor.py", resources=resources
        )
        with pytest.raises(shipyard.ModelServeError) as caught:
            predictor.deploy(await_update=120)
        assert "OOMKilled" in caught.value.message
        assert "raise limits.memory" in caught.value.message


def test_a_busy_model_under_half_a_core_uses_about_half_a_core(node: Server, tmp_path):
    with node.client() as api:
        model = upload(api, "busy", script_model(tmp_path, "busy", BUSY), framework="python")
        deploy(api, "busy", model, **limited(memory=256, cores=0.5))
        wait_state(api, "busy", "RUNNING")

        def enough_samples() -> list[float] | None:
            """The live replica's CPU samples, once it has three (each one timestamped: a
            quota that holds steadily gives equal values, which are still new samples)."""
            replicas = api.get("/deployments/busy/usage").json()["replicas"]
            live = [r for r in replicas if r["live"]]
            cores = [s["cpu_cores"] for s in live[0]["samples"]] if live else []
            measured = [c for c in cores if c is not None]
            return measured if len(measured) >= 3 else None

        samples = wait_until(enough_samples, 60, "three CPU usage samples", step=0.5)
        usage = state_of(api, "busy")["replicas"][0]["usage"]
        assert usage["limits"]["cores"] == 0.5 and usage["enforcement"].startswith("cgroup")
        assert 0.35 <= samples[-1] <= 0.65, samples
        assert usage["memory_mb"] > 5 and usage["memory_peak_mb"] >= usage["memory_mb"]
        metrics = httpx.get(f"{node.api}/metrics", headers={"Authorization": f"Bearer {node.key}"})
        assert metrics.status_code == 200
        assert (
            'shipyard_replica_cpu_limit_cores{component="predictor",deployment="busy"'
            in metrics.text
        )
        api.post("/deployments/busy/stop").raise_for_status()


def test_two_gpus_are_never_given_to_two_replicas_at_once(node: Server, tmp_path):
    with node.client() as api:
        model = upload(api, "gpu", script_model(tmp_path, "gpu", GPU), framework="python")
        for name in ("gpu-a", "gpu-b", "gpu-c"):
            deploy(api, name, model, **limited(memory=128, gpus=1))
        wait_state(api, "gpu-a", "RUNNING")
        wait_state(api, "gpu-b", "RUNNING")
        status = state_of(api, "gpu-c")
        scheduled = next(c for c in status["conditions"] if c["type"] == "SCHEDULED")
        assert scheduled["status"] == "False"
        assert "insufficient GPUs: requested 1, 0 free" in scheduled["message"]
        devices = []
        for name in ("gpu-a", "gpu-b"):
            answer = httpx.post(
                f"{node.gateway}/v1/models/{name}:predict",
                json={"instances": [1]},
                headers={"Authorization": f"ApiKey {node.key}"},
            )
            devices.append(answer.json()["predictions"][0])
        assert sorted(devices) == ["0", "1"]
        api.post("/deployments/gpu-a/stop").raise_for_status()
        wait_state(api, "gpu-c", "RUNNING", timeout=60)


def test_requests_that_can_never_fit_on_this_node_are_rejected_up_front(node: Server) -> None:
    # the seed's PredictorResources with GPUs requested on a node of two (configured) GPUs
    spec = {
        "name": "too-many-gpus",
        "predictor": {
            "model_name": "gpu",
            "model_version": 1,
            "script_file": "predictor.py",
            "resources": {
                "num_instances": 1,
                "requests": {"cores": 1, "memory": 128, "gpus": 4},
                "limits": {"cores": 2, "memory": 256, "gpus": 4},
            },
        },
    }
    with node.client() as api:
        answer = api.post("/deployments", json={"spec": spec})
        assert answer.status_code == 422
        [error] = answer.json()["error"]["details"]["errors"]
        assert error["field"] == "predictor.resources.requests"
        assert "insufficient GPUs: requested 4, 2 in all on this node" in error["message"]
        assert "SHIPYARD_GPUS" in error["message"]
        spec["predictor"]["resources"]["requests"] = {"cores": 1, "memory": 10_000_000, "gpus": 0}
        spec["predictor"]["resources"]["limits"] = {"cores": 2, "memory": 10_000_000, "gpus": 0}
        memory = api.post("/deployments", json={"spec": spec})
        assert memory.status_code == 422 and "MiB in all on this node" in memory.text
