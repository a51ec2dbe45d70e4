"""User mistakes end in one red ``error:`` line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from shipyard.cli._state import CliState
from shipyard.cli.main import app

pytestmark = pytest.mark.unit


def test_unknown_deployment(cli) -> None:
    result = cli("deployments", "status", "ghost")
    assert result.exit_code == 1
    assert result.stderr == "error: deployment 'ghost' not found\n"
    assert "Traceback" not in result.output


def test_invalid_spec_from_server(cli, fake) -> None:
    fake.add_version("m", ["predictor.py"])
    result = cli("deployments", "create", "m", "--model", "m", "--cores", "4")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: invalid deployment spec: --cores=4.0: requested 4 cores"
    )
    assert len(result.stderr.splitlines()) == 1


def test_invalid_name_is_caught_before_sending(cli, fake) -> None:
    fake.add_version("m", ["predictor.py"])
    result = cli("deployments", "create", "Not_Valid", "--model", "m")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment name 'Not_Valid' is invalid")
    assert fake.posted == []


def test_missing_api_key(cli) -> None:
    result = cli("models", "list", api_key=None)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no Shipyard API key")
    assert "--api-key" in result.stderr


def test_api_key_and_host_options(fake) -> None:
    result = CliRunner().invoke(
        app,
        ["--host", fake.host, "--api-key", fake.api_key, "models", "list"],
        obj=CliState(transport=fake.transport),
    )
    assert result.exit_code == 0, result.output
    assert fake.requests[-1].headers["authorization"] == "ApiKey sk-test"


def test_api_key_from_environment(fake, monkeypatch) -> None:
    monkeypatch.setenv("SHIPYARD_API_KEY", "sk-test")
    monkeypatch.setenv("SHIPYARD_HOST", fake.host)
    result = CliRunner().invoke(app, ["models", "list"], obj=CliState(transport=fake.transport))
    assert result.exit_code == 0, result.output


def test_server_down() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    state = CliState(host="http://127.0.0.1:9", api_key="k", transport=httpx.MockTransport(refuse))
    result = CliRunner().invoke(app, ["deployments", "list"], obj=state)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: cannot reach Shipyard at http://127.0.0.1:9: is `shipyard server` running?\n"
    )


def test_help_states_units(cli) -> None:
    result = cli("deployments", "create", "--help")
    assert result.exit_code == 0
    assert "MiB" in result.stdout and "cores" in result.stdout
