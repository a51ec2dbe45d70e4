"""``shipyard deployments create|list|status|stop|start|delete`` against the real API app
(``tests.live_api``): what the server stores and shows for each command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.sdk import Project
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def iris(cli, tmp_path: Path) -> None:
    root = tmp_path / "iris_model"
    (root / "serve").mkdir(parents=True)
    (root / "serve" / "predictor.py").write_text("class Predictor: ...\n")
    (root / "transformer.py").write_text("class Transformer: ...\n")
    (root / "model.joblib").write_bytes(b"\x00" * 64)
    pushed = cli("models", "push", str(root), "--name", "iris_model", "--framework", "sklearn")
    assert pushed.exit_code == 0, pushed.output


def stored_spec(project: Project) -> dict:
    deployment = project.get_model_serving().get_deployment("iris")
    return deployment.predictor.to_spec().model_dump(mode="json")


def test_create_sends_resources_and_waits(cli, project: Project, iris) -> None:
    result = cli(
        "deployments", "create", "iris", "--model", "iris_model", "--version", "1",
        "--script", "iris_model/serve/predictor.py", "--instances", "2", "--cores", "0.5",
        "--memory", "256", "--limit-cores", "1", "--limit-memory", "512", "--timeout", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = stored_spec(project)
    assert spec["predictor"]["script_file"] == "serve/predictor.py"
    assert spec["predictor"]["resources"] == {
        "num_instances": 2,
        "requests": {"cores": 0.5, "memory": 256, "gpus": 0},
        "limits": {"cores": 1.0, "memory": 512, "gpus": 0},
    }
    assert "deployment iris: RUNNING (revision 1, model iris_model:1)" in result.stdout
    assert "/v1/models/iris:predict" in result.stdout
    assert "iris: RUNNING · 2/2 predictor ready" in result.stderr  # the live status


def test_list_and_status(api: LiveApi, cli, iris) -> None:
    assert cli("deploy", "iris", "-m", "iris_model", "--timeout", "30").exit_code == 0
    result = cli("deployments", "list")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[:3] == ["NAME", "STATE", "READY"]
    assert row.split()[:2] == ["iris", "RUNNING"]
    result = cli("deployments", "status", "iris")
    assert result.exit_code == 0, result.output
    condition_row = next(line for line in result.stdout.splitlines() if line.startswith("READY"))
    assert condition_row.split()[:3] == ["READY", "True", "Ready"]
    (replica_id,) = api.backend.replicas
    replica_row = next(line for line in result.stdout.splitlines() if line.startswith(replica_id))
    assert replica_row.split()[1:5] == ["predictor", "0", "1", "READY"]
    status = json.loads(cli("deployments", "status", "iris", "--json").stdout)
    assert [r["id"] for r in status["status"]["replicas"]] == [replica_id]


def test_stop_start_delete(cli, project: Project, iris) -> None:
    assert cli("deploy", "iris", "-m", "iris_model", "--timeout", "30").exit_code == 0
    result = cli("deployments", "stop", "iris", "--timeout", "30")
    assert result.exit_code == 0, result.output
    assert "deployment iris: STOPPED" in result.stdout
    result = cli("deployments", "start", "iris", "--timeout", "30")
    assert "deployment iris: RUNNING" in result.stdout
    result = cli("deployments", "delete", "iris")
    assert result.stdout == "deleted deployment iris\n"
    assert project.get_model_serving().get_deployments() == []


def test_create_names_a_base_environment(cli, project: Project, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "-e", "shipyard/python:1.0.0"]
    result = cli(*args, "--timeout", "120")  # the build ends before the server stops
    assert result.exit_code == 0, result.output
    assert stored_spec(project)["predictor"]["environment"] == "shipyard/python:1.0.0"


def test_create_with_autoscaling_options(cli, project: Project, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--min-instances", "0", "--max-instances", "3", "--target", "5")
    assert result.exit_code == 0, result.output
    scaling = stored_spec(project)["predictor"]["scaling"]
    assert (scaling["min_instances"], scaling["max_instances"], scaling["target"]) == (0, 3, 5.0)
    assert scaling["scale_metric"] == "CONCURRENCY"


def test_create_with_a_transformer(cli, project: Project, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--transformer", "transformer.py", "--transformer-instances", "2")
    assert result.exit_code == 0, result.output
    transformer = stored_spec(project)["transformer"]
    assert transformer["script_file"] == "transformer.py"
    assert transformer["resources"]["num_instances"] == 2


def test_create_with_adaptive_batching(cli, project: Project, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--batch-size", "16", "--batch-latency-ms", "2")
    assert result.exit_code == 0, result.output
    batching = stored_spec(project)["predictor"]["batching"]
    assert batching == {"enabled": True, "max_batch_size": 16, "max_latency": 2.0, "timeout": None}
