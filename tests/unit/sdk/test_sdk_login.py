"""``shipyard.login``: host and key fallbacks, and what happens when they are wrong."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import shipyard
from shipyard.errors import BackendUnavailable, Unauthorized

pytestmark = pytest.mark.unit


def test_login_with_explicit_host_and_key(fake) -> None:
    project = shipyard.login(fake.host, fake.api_key, transport=fake.transport)
    assert (project.name, project.id) == ("default", "p1")
    assert fake.requests[-1].url == "http://shipyard.test/api/v1/project"
    assert fake.requests[-1].headers["authorization"] == "ApiKey sk-test"


def test_login_falls_back_to_environment(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_HOST", "shipyard.test")  # scheme added
    monkeypatch.setenv("SHIPYARD_API_KEY", fake.api_key)
    project = shipyard.login(transport=fake.transport)
    assert project.name == "default"
    assert project.connection.host == "http://shipyard.test"


def test_login_defaults_to_local_server(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_API_KEY", fake.api_key)
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"id": "p1", "name": "default"})

    shipyard.login(transport=httpx.MockTransport(handler))
    assert str(seen[0]) == "http://127.0.0.1:8470/api/v1/project"


def test_login_reads_key_file_in_shipyard_home(
    fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-key").write_text(fake.api_key + "\n")
    project = shipyard.login(fake.host, transport=fake.transport)
    assert project.name == "default"


def test_argument_wins_over_environment(fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_API_KEY", "wrong")
    assert shipyard.login(fake.host, fake.api_key, transport=fake.transport).name == "default"


def test_missing_key_says_where_it_looked(fake, tmp_path: Path) -> None:
    with pytest.raises(Unauthorized) as caught:
        shipyard.login(fake.host, transport=fake.transport)
    message = str(caught.value)
    assert "SHIPYARD_API_KEY" in message
    assert str(tmp_path / "home" / "api-key") in message
    assert fake.requests == []


def test_rejected_key_is_unauthorized(fake) -> None:
    with pytest.raises(Unauthorized, match="invalid API key"):
        shipyard.login(fake.host, "bad-key", transport=fake.transport)


def test_refused_connection_is_backend_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(BackendUnavailable) as caught:
        shipyard.login("http://127.0.0.1:9", "k", transport=httpx.MockTransport(refuse))
    assert str(caught.value) == (
        "cannot reach Shipyard at http://127.0.0.1:9: is `shipyard server` running?"
    )
