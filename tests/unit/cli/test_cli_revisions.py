"""``shipyard deployments update|scale|history|rollback`` against the fake REST API."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit

TRANSFORMER = {
    "script_file": "serve/transformer.py",
    "resources": {
        "num_instances": 1,
        "requests": {"cores": 0.2, "memory": 32, "gpus": 0},
        "limits": {"cores": 2.0, "memory": 1024, "gpus": 0},
    },
    "environment": None,
}


@pytest.fixture
def deployed(cli, fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "serve/predictor.py"], "sklearn")
    create = ("deployments", "create", "iris", "--model", "iris_model")
    result = cli(*create, "--cores", "0.5", "--memory", "256")
    assert result.exit_code == 0, result.output


def _resources(fake) -> dict:
    return fake.posted[-1]["spec"]["predictor"]["resources"]


def test_update_changes_only_the_given_fields_prints_them_and_waits(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING", "RUNNING"]
    result = cli("deployments", "update", "iris", "--instances", "3", "--limit-memory", "2048")
    assert result.exit_code == 0, result.output
    assert fake.requests[-4].method == "PUT"
    assert _resources(fake) == {
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
    assert "iris: UPDATING · 0/3 predictor ready" in result.stderr
    assert "iris: RUNNING · 3/3 predictor ready" in result.stderr


def test_update_gpus_model_version_and_environment(cli, fake, deployed) -> None:
    fake.add_version("iris_model", ["model.joblib", "serve/predictor.py"], "sklearn")
    result = cli(
        "deployments",
        "update",
        "iris",
        "--gpus",
        "1",
        "--model-version",
        "2",
        "--environment",
        "shipyard/python:1.0.0",
    )
    assert result.exit_code == 0, result.output
    predictor = fake.posted[-1]["spec"]["predictor"]
    assert predictor["resources"]["requests"]["gpus"] == predictor["resources"]["limits"]["gpus"]
    assert predictor["resources"]["limits"]["gpus"] == 1
    assert (predictor["model_version"], predictor["environment"]) == (2, "shipyard/python:1.0.0")
    assert "  predictor.model_version: 1 -> 2" in result.stdout.splitlines()
    assert "  predictor.environment: None -> shipyard/python:1.0.0" in result.stdout.splitlines()


def test_update_without_options_is_one_error_line(cli, fake, deployed) -> None:
    sent = len(fake.requests)
    result = cli("deployments", "update", "iris")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: nothing to update: give at least one of --instances")
    assert len(result.stderr.splitlines()) == 1
    assert len(fake.requests) == sent


def test_update_to_the_same_values_sends_nothing(cli, fake, deployed) -> None:
    result = cli("deployments", "update", "iris", "--instances", "1", "--memory", "256")
    assert result.exit_code == 0, result.output
    assert result.stdout == "deployment iris: nothing to change (revision 1)\n"
    assert all(r.method != "PUT" for r in fake.requests)


def test_update_no_wait_does_not_poll(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING"]
    result = cli("deployments", "update", "iris", "--cores", "1", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "  predictor.resources.requests.cores: 0.5 -> 1 cores" in result.stdout.splitlines()
    assert "deployment iris: UPDATING (revision 2" in result.stdout
    assert fake.requests[-1].url.path == "/api/v1/deployments/iris/revisions"


def test_a_failed_rollout_exits_1_with_the_reason_on_one_line(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING", "FAILED"]
    result = cli("deployments", "update", "iris", "--limit-memory", "512")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [
        "error: deployment 'iris' is FAILED: predictor replica 0 failed 3 times in a row "
        "(Error: exit code 3)"
    ]
    assert result.stderr.splitlines()[-1] == errors[0]
    assert "Traceback" not in result.output


def test_update_timeout_exits_1(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING"]
    result = cli("deployments", "update", "iris", "--instances", "2", "--timeout", "0.2")
    assert result.exit_code == 1
    assert "did not become RUNNING at revision 2 within 0.2 s: it is UPDATING" in result.stderr


def test_scale_the_predictor(cli, fake, deployed) -> None:
    result = cli("deployments", "scale", "iris", "--instances", "0")
    assert result.exit_code == 0, result.output
    assert _resources(fake)["num_instances"] == 0
    assert _resources(fake)["requests"] == {"cores": 0.5, "memory": 256, "gpus": 0}
    assert "  predictor.resources.num_instances: 1 -> 0" in result.stdout.splitlines()


def test_scale_the_transformer(cli, fake, deployed) -> None:
    fake.deployments["iris"].spec["transformer"] = TRANSFORMER
    result = cli("deployments", "scale", "iris", "--instances", "2", "--component", "transformer")
    assert result.exit_code == 0, result.output
    spec = fake.posted[-1]["spec"]
    assert spec["transformer"]["resources"]["num_instances"] == 2
    assert spec["predictor"]["resources"]["num_instances"] == 1


def test_scale_a_missing_transformer_is_one_error_line(cli, fake, deployed) -> None:
    result = cli("deployments", "scale", "iris", "--instances", "2", "--component", "transformer")
    assert result.exit_code == 1
    assert result.stderr == "error: deployment 'iris' has no transformer to scale\n"


def test_scale_needs_instances(cli, deployed) -> None:
    result = cli("deployments", "scale", "iris")
    assert result.exit_code == 2
    assert "--instances" in result.output


def test_history_is_a_table_of_revisions(cli, fake, deployed) -> None:
    cli("deployments", "scale", "iris", "--instances", "2")
    cli("deployments", "update", "iris", "--limit-memory", "2048", "--limit-cores", "1.5")
    result = cli("deployments", "history", "iris")
    assert result.exit_code == 0, result.output
    header, *rows = (line.rstrip() for line in result.stdout.splitlines())
    assert header.split() == ["REV", "WHEN", "WHO", "CHANGE"]
    assert [row.split()[:4] for row in rows] == [
        ["1", "2025-01-01", "00:00:00", "default"],
        ["2", "2025-01-01", "00:00:00", "default"],
        ["3", "2025-01-01", "00:00:00", "default"],
    ]
    assert rows[0].endswith("created")
    assert rows[1].endswith("predictor.resources.num_instances: 1 -> 2")
    assert rows[2].endswith(
        "predictor.resources.limits.cores: 2 -> 1.5 cores; "
        "predictor.resources.limits.memory: 1024 -> 2048 MiB"
    )


def test_rollback_prints_the_changes_and_waits(cli, fake, deployed) -> None:
    cli("deployments", "scale", "iris", "--instances", "2")
    fake.rollout = ["UPDATING", "RUNNING"]
    result = cli("deployments", "rollback", "iris", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "deployment iris: revision 3 (rollback to revision 1)",
        "  predictor.resources.num_instances: 2 -> 1",
    ]
    assert "deployment iris: RUNNING (revision 3" in result.stdout
    assert "iris: RUNNING · 1/1 predictor ready" in result.stderr
    assert fake.posted[-1]["spec"]["predictor"]["resources"]["num_instances"] == 1


def test_rollback_errors_are_one_line(cli, fake, deployed) -> None:
    result = cli("deployments", "rollback", "iris", "9")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: deployment 'iris' has no revision 9: its revisions are 1 to 1\n",
    )
    result = cli("deployments", "rollback", "iris", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment 'iris' already has the spec of revision 1")
