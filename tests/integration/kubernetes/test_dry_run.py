"""A server with the cluster tools configured: ``--dry-run -o yaml`` prints the objects the
backends would apply, and a pod's model download token opens its model version only."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator

import httpx
import pytest
import yaml

from shipyard.backends.cluster import schemas
from shipyard.backends.cluster.tokens import ModelTokenSigner
from tests.integration.system.conftest import Server, own_server, upload

pytestmark = pytest.mark.integration

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: "t"}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("k8s-dry-run")
    kubeconfig = root / "kubeconfig"  # a cluster that is never called: nothing is deployed
    kubeconfig.write_text(KUBECONFIG)
    extra = {
        "SHIPYARD_KUBE_SHIPYARD_URL": "http://shipyard.shipyard-system:8470",
        "SHIPYARD_KSERVE_DEPLOYMENT_MODE": "Standard",
        "SHIPYARD_KUBE_CONFIG": str(kubeconfig),
        "SHIPYARD_KUBE_RUNTIME_IMAGE": "registry.example.com/shipyard/runtime:1",
    }
    with own_server(root, **extra) as srv:
        model_dir = root / "echo"
        model_dir.mkdir()
        (model_dir / "predictor.py").write_text(
            "class Predictor:\n    def predict(self, inputs):\n        return inputs\n"
        )
        with srv.client() as api:
            upload(api, "echo", model_dir, framework="python")
        yield srv


def _cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOST=server.api, SHIPYARD_API_KEY=server.key)
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_kubernetes_dry_run_prints_the_exact_validated_objects(server: Server) -> None:
    result = _cli(server, "deploy", "echo-k8s", "-m", "echo", "--serving-tool", "KUBERNETES",
                  "--instances", "2", "--dry-run", "-o", "yaml")  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    kinds = ["ConfigMap", "Secret", "Secret", "Deployment", "Service"]
    assert [o["kind"] for o in objects] == kinds
    for obj in objects:
        schemas.validate(obj)
        assert obj["metadata"]["namespace"] == "shipyard-default"
    for secret in objects[1:3]:  # neither token is ever shown
        assert set(secret["stringData"].values()) <= {
            "<minted when applied>",
            "<the project's replica token, written when applied>",
        }
    deployment = objects[3]
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "200m", "memory": "32Mi"}}
    assert container["image"] == "registry.example.com/shipyard/runtime:1"
    init = deployment["spec"]["template"]["spec"]["initContainers"][0]
    url = next(e["value"] for e in init["env"] if e["name"] == "SHIPYARD_ARTIFACT_URL")
    assert url == "http://shipyard.shipyard-system:8470/api/v1/models/echo/versions/1/artifact"
    assert "honours minimum resources only" in result.stderr  # the matrix's warning stays


def test_kserve_dry_run_shows_the_inference_service(server: Server) -> None:
    with server.client() as api:
        spec = {"name": "echo-kserve", "serving_tool": "KSERVE",
                "predictor": {"model_name": "echo", "model_version": 1}}  # fmt: skip
        answer = api.post("/deployments", json={"spec": spec, "dry_run": True})
    assert answer.status_code == 200, answer.text
    objects = answer.json()["resolution"]["objects"]
    isvc = objects[-1]
    schemas.validate(isvc)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert isvc["spec"]["predictor"]["containers"][0]["resources"]["limits"] == {
        "cpu": "2000m",
        "memory": "1024Mi",
    }


def test_scale_to_zero_in_standard_mode_is_422_with_the_reason(server: Server) -> None:
    with server.client() as api:
        spec = {"name": "echo-zero", "serving_tool": "KSERVE",
                "predictor": {"model_name": "echo", "model_version": 1,
                              "resources": {"num_instances": 0}}}  # fmt: skip
        answer = api.post("/deployments", json={"spec": spec, "dry_run": True})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]["details"]["errors"][0]
    assert error["field"] == "predictor.resources.num_instances"
    assert "Standard mode" in error["message"]


def test_a_local_dry_run_has_no_objects(server: Server) -> None:
    with server.client() as api:
        spec = {"name": "echo-local", "predictor": {"model_name": "echo", "model_version": 1}}
        answer = api.post("/deployments", json={"spec": spec, "dry_run": True})
    assert answer.status_code == 200 and answer.json()["resolution"]["objects"] == []


def test_the_cli_refuses_an_unknown_output_format(server: Server) -> None:
    result = _cli(server, "deploy", "x", "-m", "echo", "--dry-run", "-o", "json")
    assert result.returncode == 2 and "the only output format is 'yaml'" in result.stderr


def test_a_model_token_opens_its_model_version_and_nothing_else(server: Server) -> None:
    signer = ModelTokenSigner((server.home / "model-token-key").read_bytes())
    with server.client() as api:
        project_id = api.get("/project").json()["id"]
    token = signer.mint(project_id, "echo", 1)
    bearer = {"Authorization": f"Bearer {token}"}
    base = f"{server.api}/api/v1"
    answer = httpx.get(f"{base}/models/echo/versions/1/artifact", headers=bearer)
    assert answer.status_code == 200, answer.text
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as archive:
        assert "predictor.py" in archive.getnames()
    other = {"Authorization": f"Bearer {signer.mint(project_id, 'echo', 2)}"}
    assert httpx.get(f"{base}/models/echo/versions/1/artifact", headers=other).status_code == 401
    assert httpx.get(f"{base}/models/echo/versions/1", headers=bearer).status_code == 401
    assert httpx.get(f"{base}/deployments", headers=bearer).status_code == 401
