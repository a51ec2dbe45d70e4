"""The environment table of ``deployments status`` (environment states injected by the fake
API; the ``environments`` commands themselves run against the real app in
``tests/integration/client/test_cli_environments.py``)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit

ML = "shipyard/machine-learning:1.0.0"
ML_PINS = ["numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.9.1"]


def rows_after(stdout: str, header: str) -> list[list[str]]:
    """The whitespace-split rows of the table whose header line starts with ``header``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


# -- deployments status ---------------------------------------------------------------------


@pytest.fixture
def deployed(cli, fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "predictor.py"], "sklearn")
    assert cli("deployments", "create", "iris", "--model", "iris_model").exit_code == 0


@pytest.mark.parametrize(
    ("info", "row"),
    [
        (
            {
                "base": ML,
                "requirements": ["scikit-learn==1.9.1"],
                "phase": "READY",
                "key": "3f2a9c",
                "packages": ML_PINS,
                "python": "3.11.9",
                "reused": True,
                "message": "",
            },
            f"predictor {ML} READY 3f2a9c 3 reused an existing environment",
        ),
        (
            {
                "base": ML,
                "phase": "FAILED",
                "key": None,
                "message": "could not be resolved: no version of scikit-learn==0.1",
            },
            f"predictor {ML} FAILED - - could not be resolved: no version of scikit-learn==0.1",
        ),
        ({"phase": "EMBEDDED"}, "predictor server interpreter EMBEDDED - -"),
    ],
)
def test_status_shows_each_components_environment(cli, fake, deployed, info, row: str) -> None:
    fake.environments = {"predictor": info}

    result = cli("deployments", "status", "iris")

    assert result.exit_code == 0, result.output
    header = ["COMPONENT", "ENVIRONMENT", "PHASE", "KEY", "PACKAGES", "DETAIL"]
    assert header in [line.split() for line in result.stdout.splitlines()]
    assert rows_after(result.stdout, "COMPONENT") == [row.split()]


def test_status_without_environments_has_no_environment_table(cli, deployed) -> None:
    result = cli("deployments", "status", "iris")

    assert result.exit_code == 0, result.output
    headers = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["REPLICA", "COMPONENT"] in headers  # the replica table is there, not the other
    assert not any(line.startswith("COMPONENT") for line in result.stdout.splitlines())
    assert "ENVIRONMENT" not in result.stdout


def test_status_shows_a_clusters_direct_addresses_and_apply_condition(cli, fake, deployed) -> None:
    refused = "the API server refused the InferenceService iris: 422 Invalid: spec.predictor"
    fake.status_extra = {
        "addresses": {
            "url": "http://iris.demo.example.com",
            "predictor": "http://iris-predictor.demo.svc.cluster.local",
        },
        "conditions": [
            {"type": "APPLIED", "status": "False", "reason": "Refused", "message": refused}
        ],
    }

    result = cli("deployments", "status", "iris")

    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "direct url: http://iris.demo.example.com" in lines
    assert "direct predictor: http://iris-predictor.demo.svc.cluster.local" in lines
    assert "APPLIED" in result.stdout and "422 Invalid" in " ".join(result.stdout.split())
