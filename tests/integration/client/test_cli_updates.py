"""``shipyard deployments update|scale`` against the real API app (``tests.live_api``): what the
server stores, the changes printed, and a failed rollout."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.sdk import Project
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def deployed(cli, model_dir: Path) -> None:
    assert cli("models", "push", str(model_dir), "--name", "iris_model").exit_code == 0
    create = ("deployments", "create", "iris", "--model", "iris_model", "--script", "predictor.py")
    result = cli(*create, "--cores", "0.5", "--memory", "256", "--timeout", "30")
    assert result.exit_code == 0, result.output


def stored(project: Project) -> dict:
    deployment = project.get_model_serving().get_deployment("iris")
    body = deployment.predictor.to_spec().model_dump(mode="json")
    body["revision"] = deployment.revision
    return body


def test_update_changes_only_the_given_fields_prints_them_and_waits(
    cli, project: Project, deployed
) -> None:
    result = cli("deployments", "update", "iris", "--instances", "3", "--limit-memory", "2048")
    assert result.exit_code == 0, result.output
    assert stored(project)["predictor"]["resources"] == {
        "num_instances": 3,
        "requests": {"cores": 0.5, "memory": 256, "gpus": 0},  # as stored, not the defaults
        "limits": {"cores": 2.0, "memory": 2048, "gpus": 0},
    }
    assert result.stdout.splitlines()[:3] == [
        "deployment iris: revision 2 (updated)",
        "  predictor.resources.num_instances: 1 -> 3",
        "  predictor.resources.limits.memory: 1024 -> 2048 MiB",
    ]
    assert "deployment iris: RUNNING (revision 2, model iris_model:1)" in result.stdout
    assert "iris: RUNNING · 3/3 predictor ready" in result.stderr


def test_update_to_the_same_values_sends_nothing(cli, project: Project, deployed) -> None:
    result = cli("deployments", "update", "iris", "--instances", "1", "--memory", "256")
    assert result.exit_code == 0, result.output
    assert result.stdout == "deployment iris: nothing to change (revision 1)\n"
    assert stored(project)["revision"] == 1


def test_a_failed_rollout_exits_1_with_the_reason_on_one_line(api: LiveApi, cli, deployed) -> None:
    api.backend.fail_start = True  # the new revision's replicas cannot start
    result = cli("deployments", "update", "iris", "--limit-memory", "512", "--timeout", "30")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error: deployment 'iris' is FAILED: ")
    assert result.stderr.splitlines()[-1] == errors[0]
    assert "Traceback" not in result.output


def test_scale_the_predictor(cli, project: Project, deployed) -> None:
    result = cli("deployments", "scale", "iris", "--instances", "0", "--timeout", "30")
    assert result.exit_code == 0, result.output
    resources = stored(project)["predictor"]["resources"]
    assert resources["num_instances"] == 0
    assert resources["requests"] == {"cores": 0.5, "memory": 256, "gpus": 0}
    assert "  predictor.resources.num_instances: 1 -> 0" in result.stdout.splitlines()


def test_scale_the_transformer(cli, project: Project, model_dir: Path) -> None:
    assert cli("models", "push", str(model_dir), "--name", "iris_model").exit_code == 0
    created = cli(
        "deploy", "iris", "-m", "iris_model", "--script", "predictor.py",
        "--transformer", "transformer.py", "--timeout", "30",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    result = cli("deployments", "scale", "iris", "--instances", "2", "--component", "transformer")
    assert result.exit_code == 0, result.output
    spec = stored(project)
    assert spec["transformer"]["resources"]["num_instances"] == 2
    assert spec["predictor"]["resources"]["num_instances"] == 1


def test_update_sets_changes_and_turns_off_the_inference_logger(
    cli, project: Project, deployed
) -> None:
    update = ("deployments", "update", "iris", "--no-wait")
    result = cli(*update, "--log-file", "iris.jsonl", "--log-mode", "PREDICTIONS")
    assert result.exit_code == 0, result.output
    logger = {"mode": "PREDICTIONS", "url": None, "file": "iris.jsonl", "sample_rate": 1.0}
    assert stored(project)["predictor"]["inference_logger"] == logger
    assert result.stdout.startswith("deployment iris: revision 2 (updated)\n")
    assert "inference_logger" in result.stdout
    # options not given keep their stored values; '' removes one sink
    result = cli(*update, "--log-url", "http://127.0.0.1:9/", "--log-file", "",
                 "--log-sample-rate", "0.5")  # fmt: skip
    assert result.exit_code == 0, result.output
    logger = {"mode": "PREDICTIONS", "url": "http://127.0.0.1:9/", "file": None,
              "sample_rate": 0.5}  # fmt: skip
    assert stored(project)["predictor"]["inference_logger"] == logger
    result = cli(*update, "--no-logging")
    assert result.exit_code == 0, result.output
    assert stored(project)["predictor"]["inference_logger"] is None
    assert stored(project)["revision"] == 4


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--log-mode", "ALL"], "error: --log-url/--log-file: inference logging is off"),
        (["--log-sample-rate", "0", "--log-file", "a.jsonl"], "error: --log-sample-rate:"),
        (["--log-file", "../a.jsonl"], "error: --log-file:"),
        (["--no-logging", "--log-url", "http://127.0.0.1:9/"], "error: --no-logging cannot go"),
    ],
)
def test_a_bad_logging_update_is_one_error_line_and_changes_nothing(
    cli, project: Project, deployed, args: list[str], error: str
) -> None:
    result = cli("deployments", "update", "iris", "--no-wait", *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(error), result.stderr
    assert stored(project)["revision"] == 1
