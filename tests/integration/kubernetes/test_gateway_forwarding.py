"""The gateway forwards to a cluster address: a real Shipyard runtime listens where the
component's Service would be, the cluster backend reports that address for the ready pod, and
predictions go through the real gateway process to it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.component import ClusterComponents
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import Component, ServingTool
from tests.integration.gateway.fakes import (
    AUTH_A,
    KEYS,
    TOKEN,
    FakeControl,
    GatewayProcess,
    deployment,
    free_port,
    wait_until,
)
from tests.integration.kubernetes.emulator import running_cluster
from tests.integration.kubernetes.test_components import DEP_ID, NS, Tokens, ready_pod, spec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PREDICTOR = (
    "class Predictor:\n    def predict(self, inputs):\n        return [sum(r) for r in inputs]\n"
)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[str]:
    """A replica runtime on loopback, as a pod behind the Service would run it."""
    (tmp_path / "predictor.py").write_text(PREDICTOR)
    port = free_port()
    env = {**os.environ, "MODEL_FILES_PATH": str(tmp_path), "DEPLOYMENT_NAME": "iris"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard.runtime", "--host", "127.0.0.1", "--port", str(port),
         "--component", "predictor", "--script", str(tmp_path / "predictor.py")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 30, "the runtime")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def test_predictions_reach_the_runtime_at_the_reported_cluster_address(
    runtime: str, tmp_path: Path
) -> None:
    settings = ServerSettings(home=tmp_path, kube_shipyard_url="http://shipyard.shipyard:8470")
    async with running_cluster() as cluster:
        backend = KubernetesBackend(cluster.api, Tokens(), external_url=runtime)
        seam = ClusterComponents(ServingTool.KUBERNETES, backend, settings, lambda _: "demo")
        await seam.apply(spec())
        cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
        [replica] = await seam.observe(DEP_ID, Component.PREDICTOR.value)
    assert replica.url == runtime  # the Service's address, as configured for outside the cluster
    control = FakeControl(TOKEN, KEYS)
    control.start()
    gateway = GatewayProcess(control.url, TOKEN, tmp_path / "gateway.log")
    try:
        control.publish([deployment("iris", [replica.url])])
        gateway.start()
        control.wait_applied()
        answer = httpx.post(
            f"{gateway.url}/v1/models/iris:predict",
            json={"instances": [[1, 2], [3, 4]]},
            headers=AUTH_A,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [3, 7]}
    finally:
        gateway.stop()
        control.stop()
