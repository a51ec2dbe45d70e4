"""``shipyard deployments update|scale|rollback`` where the test scripts the states a wait
sees, with the fake REST API (what the server stores: ``tests/integration/client``)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def deployed(cli, fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "serve/predictor.py"], "sklearn")
    create = ("deployments", "create", "iris", "--model", "iris_model")
    result = cli(*create, "--cores", "0.5", "--memory", "256")
    assert result.exit_code == 0, result.output


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


def test_update_no_wait_does_not_poll(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING"]
    result = cli("deployments", "update", "iris", "--cores", "1", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "  predictor.resources.requests.cores: 0.5 -> 1 cores" in result.stdout.splitlines()
    assert "deployment iris: UPDATING (revision 2" in result.stdout
    assert fake.requests[-1].url.path == "/api/v1/deployments/iris/revisions"


def test_update_timeout_exits_1(cli, fake, deployed) -> None:
    fake.rollout = ["UPDATING"]
    result = cli("deployments", "update", "iris", "--instances", "2", "--timeout", "0.2")
    assert result.exit_code == 1
    assert "did not become RUNNING at revision 2 within 0.2 s: it is UPDATING" in result.stderr


def test_scale_a_missing_transformer_is_one_error_line(cli, fake, deployed) -> None:
    result = cli("deployments", "scale", "iris", "--instances", "2", "--component", "transformer")
    assert result.exit_code == 1
    assert result.stderr == "error: deployment 'iris' has no transformer to scale\n"


def test_scale_needs_instances(cli, deployed) -> None:
    result = cli("deployments", "scale", "iris")
    assert result.exit_code == 2
    assert "--instances" in result.output


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
