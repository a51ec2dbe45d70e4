"""``shipyard deploy`` (and ``deployments create``) with ``--dry-run`` and serving tools."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def iris(fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "predictor.py"], "sklearn")


def test_dry_run_on_kserve_prints_requests_limits_and_instances(cli, fake, iris) -> None:
    result = cli(
        "deploy", "iris", "--model", "iris_model", "--serving-tool", "KSERVE", "--dry-run",
        "--instances", "0", "--cores", "0.25", "--memory", "256", "--limit-cores", "1.5",
        "--limit-memory", "512",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake.posted[-1]["dry_run"] is True and fake.deployments == {}
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert "dry run: deployment iris on KSERVE (nothing was created or started)" in lines
    assert "predictor: 0 instances (scale to zero when idle)" in lines
    assert "cpu       0.25 cores (250m)  1.5 cores (1500m)" in lines
    assert "memory    256 MiB            512 MiB" in lines
    assert "  applied: requests 0.25 cores / 256 MiB, limits 1.5 cores / 512 MiB" in lines
    assert result.stderr == ""


def test_dry_run_on_docker_shows_the_fixed_reservation_and_warns(cli, fake, iris) -> None:
    result = cli("deployments", "create", "iris", "-m", "iris_model", "--serving-tool", "docker",
                 "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "cpu       2 cores (2000m)  2 cores (2000m)" in result.stdout
    assert "applied: fixed 2 cores / 1024 MiB (request = limit)" in result.stdout
    assert result.stderr.strip() == (
        "warning: predictor.resources.requests: DOCKER reserves fixed resources: the request "
        "(0.2 cores, 32 MiB) is raised to the limit (2 cores, 1024 MiB)"
    )


def test_dry_run_on_kubernetes_shows_limits_not_applied(cli, fake, iris) -> None:
    result = cli("deploy", "iris", "-m", "iris_model", "--serving-tool", "KUBERNETES", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "cpu       0.2 cores (200m)  not applied" in result.stdout
    assert "warning: predictor.resources.limits: KUBERNETES honours minimum resources only" in (
        result.stderr
    )


def test_what_the_tool_cannot_honour_is_one_red_line(cli, fake, iris) -> None:
    result = cli("deploy", "iris", "-m", "iris_model", "--serving-tool", "DOCKER",
                 "--instances", "0", "--dry-run")  # fmt: skip
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: invalid deployment spec: --instances=0:")
    assert "scale-to-zero needs KSERVE or LOCAL; use 1 or more instances" in line
    assert result.stdout == ""


def test_bad_values_are_one_red_line_naming_field_value_and_unit(cli, fake, iris) -> None:
    result = cli("deploy", "iris", "-m", "iris_model", "--memory", "2048", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: invalid deployment spec: --memory=2048: requested "
        "2048 MiB is above the limit of 1024 MiB: raise the limit or lower the request"
    )


def test_real_deploy_on_a_tool_without_backend_is_refused(cli, fake, iris) -> None:
    result = cli("deploy", "iris", "-m", "iris_model", "--serving-tool", "KSERVE")
    assert result.exit_code == 1
    assert "serving tool KSERVE has no backend on this server yet" in result.stderr
    assert fake.deployments == {}


def test_real_deploy_prints_the_warnings(cli, fake, iris) -> None:
    fake.backends.add("DOCKER")  # pretend the server had a DOCKER backend
    result = cli("deploy", "iris", "-m", "iris_model", "--serving-tool", "DOCKER", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "warning: predictor.resources.requests: DOCKER reserves fixed resources" in (
        result.stderr
    )
    assert "deployment iris: CREATING" in result.stdout


def test_local_deploy_has_no_warnings(cli, fake, iris) -> None:
    result = cli("deploy", "iris", "-m", "iris_model")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert "deployment iris: RUNNING" in result.stdout
