"""``shipyard.login`` against the real API app: host and key fallbacks, a rejected key."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard.errors import Unauthorized
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


def test_login_with_explicit_host_and_key(api: LiveApi) -> None:
    with shipyard.login(api.host, api.api_key) as project:
        assert project.name == "default"
        assert project.id and project.created_at


def test_login_falls_back_to_environment(api: LiveApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_HOST", api.host.removeprefix("http://"))  # scheme added
    monkeypatch.setenv("SHIPYARD_API_KEY", api.api_key)
    with shipyard.login() as project:
        assert project.name == "default"
        assert project.connection.host == api.host


def test_login_reads_key_file_in_shipyard_home(api: LiveApi, tmp_path: Path) -> None:
    home = tmp_path / "client-home"  # the fixture's SHIPYARD_HOME
    home.mkdir()
    (home / "api-key").write_text(api.api_key + "\n")
    with shipyard.login(api.host) as project:
        assert project.name == "default"


def test_argument_wins_over_environment(api: LiveApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_API_KEY", "wrong")
    with shipyard.login(api.host, api.api_key) as project:
        assert project.name == "default"


def test_missing_key_says_where_it_looked(api: LiveApi, tmp_path: Path) -> None:
    with pytest.raises(Unauthorized) as caught:
        shipyard.login(api.host)
    message = str(caught.value)
    assert "SHIPYARD_API_KEY" in message
    assert str(tmp_path / "client-home" / "api-key") in message


def test_rejected_key_is_unauthorized(api: LiveApi) -> None:
    with pytest.raises(Unauthorized, match="invalid API key"):
        shipyard.login(api.host, "bad-key")
