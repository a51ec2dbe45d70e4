"""``shipyard deployments ...`` and ``shipyard predict`` against the fake REST API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def iris(fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "serve/predictor.py"], "sklearn")


@pytest.fixture
def deployed(cli, iris) -> None:
    assert cli("deployments", "create", "iris", "--model", "iris_model").exit_code == 0


def test_create_sends_resources_and_waits(cli, fake, iris) -> None:
    fake.rollout = ["STARTING", "RUNNING"]
    result = cli(
        "deployments",
        "create",
        "iris",
        "--model",
        "iris_model",
        "--version",
        "1",
        "--script",
        "iris_model/serve/predictor.py",
        "--instances",
        "2",
        "--cores",
        "0.5",
        "--memory",
        "256",
        "--limit-cores",
        "1",
        "--limit-memory",
        "512",
    )
    assert result.exit_code == 0, result.output
    spec = fake.posted[-1]["spec"]
    assert spec["predictor"]["script_file"] == "serve/predictor.py"
    assert spec["predictor"]["resources"] == {
        "num_instances": 2,
        "requests": {"cores": 0.5, "memory": 256, "gpus": 0},
        "limits": {"cores": 1.0, "memory": 512, "gpus": 0},
    }
    assert "deployment iris: RUNNING (revision 1, model iris_model:1)" in result.stdout
    assert "v1: http://gateway.test/v1/models/iris:predict" in result.stdout
    # the live status (stderr is not a terminal here: one line per change)
    assert "iris: STARTING · 0/2 predictor ready" in result.stderr
    assert "iris: RUNNING · 2/2 predictor ready" in result.stderr


def test_create_defaults_and_gpus(cli, fake, iris) -> None:
    cli("deployments", "create", "iris", "--model", "iris_model", "--gpus", "1", "--no-wait")
    resources = fake.posted[-1]["spec"]["predictor"]["resources"]
    assert resources["requests"] == {"cores": 0.2, "memory": 32, "gpus": 1}
    assert resources["limits"] == {"cores": 2.0, "memory": 1024, "gpus": 1}


def test_create_no_wait_does_not_poll(cli, fake, iris) -> None:
    fake.rollout = ["STARTING"]
    result = cli("deployments", "create", "iris", "--model", "iris_model", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "deployment iris: CREATING" in result.stdout
    assert fake.requests[-1].url.path == "/api/v1/deployments"


def test_create_failing_deployment_exits_1(cli, fake, iris) -> None:
    fake.rollout = ["FAILED"]
    result = cli("deployments", "create", "iris", "--model", "iris_model")
    assert result.exit_code == 1
    assert "error: deployment 'iris' is FAILED" in result.stderr
    assert "STARTED=False CrashLoopBackOff" in result.stderr
    assert "Traceback" not in result.output


def test_create_timeout_exits_1(cli, fake, iris) -> None:
    fake.rollout = ["STARTING"]
    result = cli("deployments", "create", "iris", "--model", "iris_model", "--timeout", "0.2")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: deployment 'iris' did not become RUNNING at revision 1 within 0.2 s: "
        "it is STARTING (0/1 predictor instances ready)"
    )


def test_list_and_status(cli, deployed) -> None:
    result = cli("deployments", "list")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header.split()[:3] == ["NAME", "STATE", "READY"]
    assert row.split()[:2] == ["iris", "RUNNING"]

    result = cli("deployments", "status", "iris")
    assert result.exit_code == 0, result.output
    condition_row = next(line for line in result.stdout.splitlines() if line.startswith("READY"))
    assert condition_row.split()[:3] == ["READY", "True", "Ready"]
    replica_row = next(line for line in result.stdout.splitlines() if line.startswith("r0"))
    assert replica_row.split()[:6] == ["r0", "predictor", "0", "1", "READY", "1000"]
    usage_rows = [line for line in result.stdout.splitlines() if line.startswith("r0")]
    expected = "r0 0.25 cores 0.20 / 2.00 120 MB 150 MB 32 / 1024 MB cgroup-v1"
    assert usage_rows[1].split() == expected.split(" ")


def test_stop_start_delete(cli, fake, deployed) -> None:
    result = cli("deployments", "stop", "iris")
    assert result.exit_code == 0, result.output
    assert "deployment iris: STOPPED" in result.stdout
    result = cli("deployments", "start", "iris")
    assert "deployment iris: RUNNING" in result.stdout
    result = cli("deployments", "delete", "iris")
    assert result.stdout == "deleted deployment iris\n"
    assert fake.deployments == {}


def test_logs(cli, fake, deployed) -> None:
    fake.logs["iris"] = [
        {"replica": "r0", "stream": "stderr", "line": "loading", "component": "predictor"},
        {"replica": "r1", "stream": "stdout", "line": "ready", "component": "predictor"},
        {"replica": "t0", "stream": "stdout", "line": "other", "component": "transformer"},
    ]
    fake.logs["iris"].append(
        {"replica": "old-0", "stream": "stdout", "line": "killed", "component": "predictor"}
    )
    result = cli("deployments", "logs", "iris", "--tail", "5")
    assert result.stdout == "loading\n"  # the current replica only (r0; r1 and old-0 are gone)
    logs = [r for r in fake.requests if r.url.path.endswith("/logs")]
    assert logs[-1].url.params["tail"] == "5"
    result = cli("deployments", "logs", "iris", "--all")
    assert result.stdout == "[r0] loading\n[r1] ready\n[old-0] killed\n"
    result = cli("deployments", "logs", "iris", "--all", "--json")
    assert json.loads(result.stdout)[2] == {
        "replica": "old-0",
        "stream": "stdout",
        "line": "killed",
    }


def test_predict_instances_and_data(cli, fake, deployed, tmp_path: Path) -> None:
    result = cli("predict", "iris", "--instances", "[[5.1, 3.5, 1.4, 0.2]]")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"predictions": [4]}
    assert fake.predict_bodies[-1] == {"instances": [[5.1, 3.5, 1.4, 0.2]]}

    body = tmp_path / "body.json"
    body.write_text(json.dumps({"inputs": [[1, 2]]}))
    result = cli("predict", "iris", "--data", f"@{body}")
    assert json.loads(result.stdout) == {"predictions": [2]}
    assert fake.predict_bodies[-1] == {"inputs": [[1, 2]]}


def test_predict_bad_json_is_one_error_line(cli, deployed) -> None:
    result = cli("predict", "iris", "--instances", "[1, 2")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --instances is not valid JSON")
    assert len(result.stderr.splitlines()) == 1


def test_predict_needs_one_payload_option(cli, deployed) -> None:
    result = cli("predict", "iris")
    assert result.exit_code == 2
    assert "exactly one of --data and --instances" in result.stderr


def test_create_names_a_base_environment(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "-e", "shipyard/python:1.0.0"]
    result = cli(*args, "--no-wait")
    assert result.exit_code == 0, result.output
    assert fake.posted[-1]["spec"]["predictor"]["environment"] == "shipyard/python:1.0.0"


def test_create_with_autoscaling_options(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--min-instances", "0", "--max-instances", "3", "--target", "5")
    assert result.exit_code == 0, result.output
    scaling = fake.posted[-1]["spec"]["predictor"]["scaling"]
    assert (scaling["min_instances"], scaling["max_instances"], scaling["target"]) == (0, 3, 5.0)
    assert scaling["scale_metric"] == "CONCURRENCY"


def test_a_bad_autoscaling_option_is_one_error_line(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--max-instances", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --max-instances: Input should be greater than")
    assert not fake.posted


def test_create_with_a_transformer(cli, fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "predictor.py", "transformer.py"], "sklearn")
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--transformer", "transformer.py", "--transformer-instances", "2")
    assert result.exit_code == 0, result.output
    transformer = fake.posted[-1]["spec"]["transformer"]
    assert transformer["script_file"] == "transformer.py"
    assert transformer["resources"]["num_instances"] == 2


def test_create_with_adaptive_batching(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--batch-size", "16", "--batch-latency-ms", "2")
    assert result.exit_code == 0, result.output
    batching = fake.posted[-1]["spec"]["predictor"]["batching"]
    assert batching == {"enabled": True, "max_batch_size": 16, "max_latency": 2.0, "timeout": None}
    result = cli(*args, "--batch-size", "1")
    assert result.exit_code == 1 and result.stderr.startswith("error: --batch-size:")
