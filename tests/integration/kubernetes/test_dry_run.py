"""``--dry-run -o yaml`` on KUBERNETES and KSERVE: the server's objects, printed by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from shipyard.backends.cluster import schemas
from tests.integration.system.conftest import Server, own_server, upload

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("k8s-dry-run")
    extra = {
        "SHIPYARD_KUBE_SHIPYARD_URL": "http://shipyard.shipyard-system:8470",
        "SHIPYARD_KSERVE_DEPLOYMENT_MODE": "Standard",
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
    assert [o["kind"] for o in objects] == ["ConfigMap", "Secret", "Deployment", "Service"]
    for obj in objects:
        schemas.validate(obj)
        assert obj["metadata"]["namespace"] == "shipyard-default"
    deployment = objects[2]
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "200m", "memory": "32Mi"}}
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
