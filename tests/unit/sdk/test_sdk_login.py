"""``shipyard.login`` without a server: the default address and an unreachable one (the
fallbacks against a real server are in ``tests/integration/client/test_sdk_login.py``)."""

from __future__ import annotations

import httpx
import pytest

import shipyard
from shipyard.errors import BackendUnavailable

pytestmark = pytest.mark.unit


def test_login_defaults_to_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_API_KEY", "sk-test")
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"id": "p1", "name": "default"})

    shipyard.login(transport=httpx.MockTransport(handler))
    assert str(seen[0]) == "http://127.0.0.1:8470/api/v1/project"


def test_refused_connection_is_backend_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(BackendUnavailable) as caught:
        shipyard.login("http://127.0.0.1:9", "k", transport=httpx.MockTransport(refuse))
    assert str(caught.value) == (
        "cannot reach Shipyard at http://127.0.0.1:9: is `shipyard server` running?"
    )
