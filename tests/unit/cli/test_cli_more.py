"""JSON output of read commands, ``wait``, transformer resources and batching from the CLI,
and messages that speak in options rather than spec fields."""

from __future__ import annotations

import json

import pytest

from shipyard.cli._options import cli_terms

pytestmark = pytest.mark.unit


@pytest.fixture
def iris(fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "predictor.py", "transformer.py"], "sklearn")


@pytest.fixture
def deployed(cli, iris) -> None:
    assert cli("deployments", "create", "iris", "--model", "iris_model").exit_code == 0


def test_read_commands_print_json(cli, fake, deployed) -> None:
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
    assert versions[0]["files"] == ["model.joblib", "predictor.py", "transformer.py"]
    envs = json.loads(cli("environments", "list", "--json").stdout)
    assert all("name" in e and "packages" in e for e in envs)
    project = json.loads(cli("projects", "show", "--json").stdout)
    assert project["name"] == "default"


def test_wait_for_running_and_stopped(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING", "RUNNING"]
    result = cli("deployments", "wait", "iris", "--timeout", "5")
    assert result.exit_code == 0, result.output
    assert cli("deployments", "stop", "iris", "--no-wait").exit_code == 0
    result = cli("deployments", "wait", "iris", "--for", "stopped", "--timeout", "5")
    assert result.exit_code == 0, result.output


def test_wait_for_a_failed_deployment_exits_1(cli, fake, iris) -> None:
    fake.rollout = ["STARTING", "FAILED"]
    cli("deployments", "create", "iris", "--model", "iris_model", "--no-wait")
    result = cli("deployments", "wait", "iris", "--timeout", "5")
    assert result.exit_code == 1
    assert "error: deployment 'iris' is FAILED" in result.stderr


def test_transformer_resources_from_create_and_update(cli, fake, iris) -> None:
    result = cli(
        "deploy", "iris", "-m", "iris_model", "--transformer", "transformer.py",
        "--transformer-instances", "2", "--transformer-cores", "0.1",
        "--transformer-limit-memory", "256",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    resources = fake.posted[-1]["spec"]["transformer"]["resources"]
    assert resources["num_instances"] == 2
    assert resources["requests"]["cores"] == 0.1
    assert resources["limits"]["memory"] == 256
    result = cli("deployments", "update", "iris", "--transformer-memory", "64")
    assert result.exit_code == 0, result.output
    updated = fake.posted[-1]["spec"]["transformer"]["resources"]
    assert (updated["requests"]["memory"], updated["limits"]["memory"]) == (64, 256)
    assert "transformer.resources.requests.memory: 32 -> 64 MiB" in result.stdout


def test_transformer_options_without_a_transformer_are_refused(cli, fake, deployed) -> None:
    result = cli("deployments", "update", "iris", "--transformer-cores", "0.5")
    assert result.exit_code == 1
    assert "has no transformer: the --transformer-* options do not apply" in result.stderr


def test_batching_from_update(cli, fake, deployed) -> None:
    result = cli("deployments", "update", "iris", "--batch-size", "16")
    assert result.exit_code == 0, result.output
    batching = fake.posted[-1]["spec"]["predictor"]["batching"]
    assert (batching["enabled"], batching["max_batch_size"]) == (True, 16)
    result = cli("deployments", "update", "iris", "--batch-latency-ms", "2")
    batching = fake.posted[-1]["spec"]["predictor"]["batching"]
    assert (batching["max_batch_size"], batching["max_latency"]) == (16, 2)  # kept, changed
    result = cli("deployments", "update", "iris", "--no-batching")
    assert result.exit_code == 0, result.output
    assert fake.posted[-1]["spec"]["predictor"]["batching"] is None
    result = cli("deployments", "update", "iris", "--batch-size", "1")
    assert result.exit_code == 1
    assert "error: --batch-size:" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("raise limits.memory", "raise --limit-memory"),
        ("predictor.resources.requests.cores=4.0: too many", "--cores=4.0: too many"),
        ("transformer.resources.limits.memory: 1", "--transformer-limit-memory: 1"),
        ("predictor.batching.max_batch_size: >= 2", "--batch-size: >= 2"),
        ("the limits.memory_mb field", "the limits.memory_mb field"),  # not a field we know
        ("see shipyard.limits.memory", "see shipyard.limits.memory"),  # part of another name
    ],
)
def test_messages_speak_in_options(text: str, expected: str) -> None:
    assert cli_terms(text) == expected
