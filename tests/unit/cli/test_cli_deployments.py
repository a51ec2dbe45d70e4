"""``shipyard deployments ...`` and ``shipyard predict`` where the test scripts what the server
answers (waits, failures, logs, predictions) with the fake REST API; what the server stores for
each command: ``tests/integration/client/test_cli_deployments.py``."""

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


def test_a_bad_autoscaling_option_is_one_error_line(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--max-instances", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --max-instances: Input should be greater than")
    assert not fake.posted


def test_a_bad_batching_option_is_one_error_line(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--batch-size", "1")
    assert result.exit_code == 1 and result.stderr.startswith("error: --batch-size:")


def test_log_options_put_an_inference_logger_in_the_spec(cli, fake, iris) -> None:
    args = ["deployments", "create", "iris", "-m", "iris_model", "--no-wait"]
    result = cli(*args, "--log-url", "http://127.0.0.1:9/", "--log-mode", "PREDICTIONS",
                 "--log-sample-rate", "0.25")  # fmt: skip
    assert result.exit_code == 0, result.output
    logger = fake.posted[-1]["spec"]["predictor"]["inference_logger"]
    assert logger == {"mode": "PREDICTIONS", "url": "http://127.0.0.1:9/", "file": None,
                      "sample_rate": 0.25}  # fmt: skip
    bad = cli(*args, "--log-file", "../x.jsonl")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: --log-file:")
