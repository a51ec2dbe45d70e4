"""User mistakes found without a server end in one red ``error:`` line and exit code 1 (those
the server finds: ``tests/integration/client/test_cli_errors.py``)."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from shipyard.cli._state import CliState
from shipyard.cli.main import app

pytestmark = pytest.mark.unit


def test_missing_api_key(cli) -> None:
    result = cli("models", "list", api_key=None)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no Shipyard API key")
    assert "--api-key" in result.stderr


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
