"""The CLI against the real API app (in process, SQLite, fake backend)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli._state import CliState
from shipyard.cli.main import app
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(api: LiveApi) -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), obj=CliState(host=api.host, api_key=api.api_key))

    return invoke


@pytest.fixture
def pushed(cli, model_dir: Path) -> None:
    result = cli("models", "push", str(model_dir), "--name", "iris")
    assert result.exit_code == 0, result.output


def test_deploy_update_history_rollback(cli, pushed, model_dir: Path) -> None:
    result = cli(
        "deploy", "iris", "-m", "iris", "--script", "predictor.py", "--memory", "64",
        "--transformer", "transformer.py", "--transformer-limit-memory", "256", "--timeout", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    status = json.loads(cli("deployments", "status", "iris", "--json").stdout)
    assert status["status"]["state"] == "RUNNING"
    assert status["spec"]["transformer"]["resources"]["limits"]["memory"] == 256
    assert cli("models", "push", str(model_dir), "--name", "iris").exit_code == 0
    result = cli(
        "deployments", "update", "iris", "--model-version", "2", "--batch-size", "8",
        "--transformer-memory", "32", "--timeout", "30",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "predictor.model_version: 1 -> 2" in result.stdout
    history = json.loads(cli("deployments", "history", "iris", "--json").stdout)
    assert [r["revision"] for r in history] == [1, 2]
    assert cli("deployments", "rollback", "iris", "1", "--timeout", "30").exit_code == 0
    assert cli("deployments", "wait", "iris", "--timeout", "30").exit_code == 0
    body = json.loads(cli("deployments", "status", "iris", "--json").stdout)
    assert (body["revision"], body["spec"]["predictor"]["model_version"]) == (3, 1)


def test_errors_speak_in_options(cli, pushed) -> None:
    result = cli("deploy", "iris", "-m", "iris", "--memory", "4096", "--limit-memory", "1024")
    assert result.exit_code == 1
    assert "error: invalid deployment spec: --memory=4096" in result.stderr
    assert "requests.memory" not in result.stderr
    result = cli("deployments", "status", "nope")
    assert result.exit_code == 1
    assert "error: deployment 'nope' not found" in result.stderr


def test_models_delete_and_projects(cli, pushed, model_dir: Path) -> None:
    assert cli("deploy", "iris", "-m", "iris", "--timeout", "30").exit_code == 0
    refused = cli("models", "delete", "iris", "--yes")
    assert refused.exit_code == 1
    assert "used by deployment(s) iris (version 1)" in refused.stderr
    assert cli("deployments", "delete", "iris").exit_code == 0
    assert cli("models", "delete", "iris", "--yes").exit_code == 0
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert listed == []
    key = cli("projects", "create", "team-a", "--key-only")
    assert key.exit_code == 0, key.output
    assert len(key.stdout.strip()) > 20
    assert json.loads(cli("projects", "show", "--json").stdout)["name"] == "default"
