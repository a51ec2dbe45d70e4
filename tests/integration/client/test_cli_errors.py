"""User mistakes end in one red ``error:`` line on stderr and exit code 1, never a traceback:
against the real API app (``tests.live_api``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipyard.cli._state import CliState
from shipyard.cli.main import app
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def pushed(cli, model_dir: Path) -> None:
    assert cli("models", "push", str(model_dir), "--name", "m").exit_code == 0


def test_unknown_deployment(cli) -> None:
    result = cli("deployments", "status", "ghost")
    assert result.exit_code == 1
    assert result.stderr == "error: deployment 'ghost' not found\n"
    assert "Traceback" not in result.output


def test_invalid_spec_from_server(cli, pushed) -> None:
    result = cli("deployments", "create", "m", "--model", "m", "--cores", "4")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: invalid deployment spec: --cores=4.0: requested 4 cores"
    )
    assert len(result.stderr.splitlines()) == 1


def test_invalid_name_is_caught_before_sending(cli, pushed, project) -> None:
    result = cli("deployments", "create", "Not_Valid", "--model", "m")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment name 'Not_Valid' is invalid")
    assert project.get_model_serving().get_deployments() == []


def test_api_key_and_host_options(api: LiveApi) -> None:
    result = CliRunner().invoke(
        app, ["--host", api.host, "--api-key", api.api_key, "models", "list"], obj=CliState()
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[:3] == ["NAME", "LATEST", "VERSIONS"]


def test_api_key_from_environment(api: LiveApi, monkeypatch) -> None:
    monkeypatch.setenv("SHIPYARD_API_KEY", api.api_key)
    monkeypatch.setenv("SHIPYARD_HOST", api.host)
    result = CliRunner().invoke(app, ["models", "list"], obj=CliState())
    assert result.exit_code == 0, result.output


def test_a_rejected_key_is_one_error_line(api: LiveApi) -> None:
    state = CliState(host=api.host, api_key="not-a-key")
    result = CliRunner().invoke(app, ["deployments", "list"], obj=state)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "invalid API key" in result.stderr
    assert len(result.stderr.splitlines()) == 1
