"""The gateway forwards to a cluster address: a real Shipyard runtime listens where the
component's Service would be, run as the rendered pod runs it (``--token-file`` with the
project's replica token, ``--health-without-token``), the cluster backend reports that address
for the ready pod, and predictions go through the real gateway process to it. Without the token
(another pod of the cluster, another project's route) the runtime refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from shipyard.backends.cluster import pods
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.component import ClusterComponents
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import Component, ServingTool
from shipyard.wire.replica_token import HEADER, project_token
from tests.integration.gateway.fakes import (
    AUTH_A,
    KEY_B,
    KEYS,
    TOKEN,
    FakeControl,
    GatewayProcess,
    deployment,
    free_port,
    wait_until,
)
from tests.integration.kubernetes.emulator import running_cluster
from tests.integration.kubernetes.test_components import (
    DEP_ID,
    NS,
    Tokens,
    images_of,
    ready_pod,
    spec,
)
from tests.unit.backends.kubernetes.cases import KUBERNETES_CASES

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PREDICTOR = (
    "class Predictor:\n    def predict(self, inputs):\n        return [sum(r) for r in inputs]\n"
)


PROJECT_TOKEN = project_token(TOKEN, "proj-a")  # what the replica Secret holds for proj-a


def pod_token_args(inp_args: list[str], token_file: Path) -> list[str]:
    """The rendered pod's token arguments, with the mount's path replaced by ``token_file``."""
    at = inp_args.index("--token-file")
    assert inp_args[at + 1] == f"{pods.TOKEN_DIR}/{pods.TOKEN_FILE}"
    assert "--health-without-token" in inp_args
    return ["--token-file", str(token_file), "--health-without-token"]


@contextmanager
def pod_runtime(folder: Path, port: int, token: bytes) -> Iterator[str]:
    """A replica runtime on loopback at ``port``, as a pod behind the Service runs it (with
    ``token`` in its token file); its URL once ready."""
    folder.mkdir(exist_ok=True)
    (folder / "predictor.py").write_text(PREDICTOR)
    token_file = folder / "replica-token"
    token_file.write_bytes(token)
    iris = KUBERNETES_CASES["kubernetes-iris"]
    rendered = pods.runtime_args(iris, Component.PREDICTOR, runtime_batching=False)
    env = {**os.environ, "MODEL_FILES_PATH": str(folder), "DEPLOYMENT_NAME": "iris"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard.runtime", "--host", "127.0.0.1", "--port", str(port),
         "--component", "predictor", "--script", str(folder / "predictor.py"), "--any-name",
         *pod_token_args(rendered, token_file)],
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


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[str]:
    """proj-a's pod, its token as the replica Secret holds it."""
    with pod_runtime(tmp_path / "pod", free_port(), PROJECT_TOKEN) as url:
        yield url


async def test_predictions_reach_the_runtime_at_the_reported_cluster_address(
    runtime: str, tmp_path: Path
) -> None:
    settings = ServerSettings(home=tmp_path, kube_shipyard_url="http://shipyard.shipyard:8470")
    async with running_cluster() as cluster:
        backend = KubernetesBackend(cluster.api, Tokens(), external_url=runtime)
        seam = ClusterComponents(
            ServingTool.KUBERNETES, backend, settings, lambda _: "demo", images=images_of
        )
        await seam.apply(spec())
        cluster.put("Pod", NS, "iris-predictor-a", ready_pod("iris-predictor-a"))
        [replica] = await seam.observe(DEP_ID, Component.PREDICTOR.value)
    assert replica.url == runtime  # the Service's address, as configured for outside the cluster
    body = {"instances": [[1, 2], [3, 4]]}
    # another pod of the cluster: health answers (the kubelet's probes), predictions do not
    assert httpx.get(f"{runtime}/v2/health/ready", timeout=5).status_code == 200
    assert httpx.post(f"{runtime}/v1/models/iris:predict", json=body, timeout=5).status_code == 401
    wrong = {HEADER.decode(): project_token(TOKEN, "proj-b").decode()}
    refused = httpx.post(f"{runtime}/v1/models/iris:predict", json=body, headers=wrong, timeout=5)
    assert refused.status_code == 401
    control = FakeControl(TOKEN, KEYS)
    control.start()
    gateway = GatewayProcess(control.url, TOKEN, tmp_path / "gateway.log")
    try:  # proj-b's route to proj-a's address: the gateway presents proj-b's token, refused
        control.publish(
            [deployment("iris", [replica.url]), deployment("other", [replica.url], "proj-b")]
        )
        gateway.start()
        control.wait_applied()
        answer = httpx.post(
            f"{gateway.url}/v1/models/iris:predict", json=body, headers=AUTH_A, timeout=10
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [3, 7]}
        other = httpx.post(
            f"{gateway.url}/v1/models/other:predict",
            json=body,
            headers={"Authorization": f"ApiKey {KEY_B}"},
            timeout=10,
        )
        assert other.status_code == 401, other.text  # the replica's refusal, passed on
        assert "answers only the Shipyard gateway" in other.text
    finally:
        gateway.stop()
        control.stop()
