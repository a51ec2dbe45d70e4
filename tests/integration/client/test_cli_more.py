"""JSON output of read commands, ``wait``, transformer resources and batching from the CLI,
against the real API app (``tests.live_api``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.sdk import Project
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def iris(cli, model_dir: Path) -> None:
    pushed = cli("models", "push", str(model_dir), "--name", "iris_model", "--framework", "sklearn")
    assert pushed.exit_code == 0, pushed.output


@pytest.fixture
def deployed(cli, iris) -> None:
    created = cli(
        "deploy", "iris", "-m", "iris_model", "--script", "predictor.py", "--timeout", "30"
    )
    assert created.exit_code == 0, created.output


def stored(project: Project) -> dict:
    spec = project.get_model_serving().get_deployment("iris").predictor.to_spec()
    return spec.model_dump(mode="json")


def test_read_commands_print_json(cli, deployed) -> None:
    listed = json.loads(cli("deployments", "list", "--json").stdout)
    assert [d["name"] for d in listed] == ["iris"]
    status = json.loads(cli("deployments", "status", "iris", "--json").stdout)
    assert status["status"]["state"] == "RUNNING"
    assert status["spec"]["predictor"]["model_name"] == "iris_model"
    assert status["endpoints"]["v1"].endswith("/v1/models/iris:predict")
    history = json.loads(cli("deployments", "history", "iris", "--json").stdout)
    assert [r["revision"] for r in history] == [1]
    models = json.loads(cli("models", "list", "--json").stdout)
    assert models[0]["name"] == "iris_model" and models[0]["latest_version"] == 1
    versions = json.loads(cli("models", "list", "iris_model", "--json").stdout)
    assert versions[0]["files"] == ["predictor.py", "transformer.py"]
    envs = json.loads(cli("environments", "list", "--json").stdout)
    assert all("name" in e and "packages" in e for e in envs)
    project = json.loads(cli("projects", "show", "--json").stdout)
    assert project["name"] == "default"
    logs = json.loads(cli("deployments", "logs", "iris", "--json").stdout)
    assert logs == []  # the fake backend's replica wrote nothing


def test_wait_for_running_stopped_and_deleted(cli, deployed) -> None:
    assert cli("deployments", "wait", "iris", "--timeout", "30").exit_code == 0
    assert cli("deployments", "stop", "iris", "--no-wait").exit_code == 0
    result = cli("deployments", "wait", "iris", "--for", "stopped", "--timeout", "30")
    assert result.exit_code == 0, result.output
    assert "deployment iris: STOPPED" in result.stdout
    assert cli("deployments", "delete", "iris", "--no-wait").exit_code == 0
    result = cli("deployments", "wait", "iris", "--for", "deleted", "--timeout", "30")
    assert (result.exit_code, result.stdout) == (0, "deployment iris is deleted\n")
    assert cli("deployments", "status", "iris").exit_code == 1  # the name is free
    assert cli("deployments", "wait", "iris", "--for", "deleted").exit_code == 0  # still


def test_wait_for_a_failing_deployment_exits_1(api: LiveApi, cli, iris) -> None:
    api.backend.fail_start = True
    created = cli("deploy", "iris", "-m", "iris_model", "--script", "predictor.py", "--no-wait")
    assert created.exit_code == 0, created.output
    result = cli("deployments", "wait", "iris", "--timeout", "30")
    assert result.exit_code == 1
    assert "error: deployment 'iris' is FAILED" in result.stderr


def test_transformer_resources_from_create_and_update(cli, project: Project, iris) -> None:
    result = cli(
        "deploy", "iris", "-m", "iris_model", "--script", "predictor.py",
        "--transformer", "transformer.py", "--transformer-instances", "2",
        "--transformer-cores", "0.1", "--transformer-limit-memory", "256", "--timeout", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    resources = stored(project)["transformer"]["resources"]
    assert resources["num_instances"] == 2
    assert resources["requests"]["cores"] == 0.1
    assert resources["limits"]["memory"] == 256
    result = cli("deployments", "update", "iris", "--transformer-memory", "64", "--timeout", "30")
    assert result.exit_code == 0, result.output
    updated = stored(project)["transformer"]["resources"]
    assert (updated["requests"]["memory"], updated["limits"]["memory"]) == (64, 256)
    assert "transformer.resources.requests.memory: 32 -> 64 MiB" in result.stdout


def test_transformer_options_without_a_transformer_are_refused(cli, deployed) -> None:
    result = cli("deployments", "update", "iris", "--transformer-cores", "0.5")
    assert result.exit_code == 1
    assert "has no transformer: the --transformer-* options do not apply" in result.stderr


def test_batching_from_update(cli, project: Project, deployed) -> None:
    result = cli("deployments", "update", "iris", "--batch-size", "16", "--timeout", "30")
    assert result.exit_code == 0, result.output
    batching = stored(project)["predictor"]["batching"]
    assert (batching["enabled"], batching["max_batch_size"]) == (True, 16)
    result = cli("deployments", "update", "iris", "--batch-latency-ms", "2", "--timeout", "30")
    batching = stored(project)["predictor"]["batching"]
    assert (batching["max_batch_size"], batching["max_latency"]) == (16, 2)  # kept, changed
    result = cli("deployments", "update", "iris", "--no-batching", "--timeout", "30")
    assert result.exit_code == 0, result.output
    assert stored(project)["predictor"]["batching"] is None
    result = cli("deployments", "update", "iris", "--batch-size", "1")
    assert result.exit_code == 1
    assert "error: --batch-size:" in result.stderr
