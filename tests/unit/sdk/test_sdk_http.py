"""``Connection``: error answers are mapped back to the ``shipyard.errors`` classes."""

from __future__ import annotations

import httpx
import pytest

from shipyard.errors import (
    AlreadyExists,
    BackendUnavailable,
    InferenceError,
    InvalidInput,
    InvalidSpec,
    NotFound,
    NotReady,
    ShipyardError,
)
from shipyard.sdk import Connection

pytestmark = pytest.mark.unit


def connection(status: int, **answer: object) -> Connection:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **answer)  # type: ignore[arg-type]

    return Connection("http://api.test", "k", transport=httpx.MockTransport(handler))


def test_invalid_spec_keeps_message_and_details() -> None:
    details = {"errors": [{"loc": ["predictor", "resources"], "msg": "too many GPUs"}]}
    error = {"code": "invalid_spec", "message": "GPU request must equal limit", "details": details}
    with pytest.raises(InvalidSpec) as caught:
        connection(422, json={"error": error}).json("POST", "/deployments", json={})
    assert caught.value.message == "GPU request must equal limit"
    assert caught.value.details == details


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("not_found", 404, NotFound),
        ("already_exists", 409, AlreadyExists),
        ("backend_unavailable", 502, BackendUnavailable),
        ("mystery", 500, ShipyardError),
    ],
)
def test_error_code_selects_the_class(code: str, status: int, cls: type[ShipyardError]) -> None:
    error = {"code": code, "message": "m", "details": {}}
    with pytest.raises(cls) as caught:
        connection(status, json={"error": error}).json("GET", "/models")
    assert type(caught.value) is cls


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, InvalidInput), (404, NotFound), (500, InferenceError), (503, NotReady)],
)
def test_gateway_string_errors_map_by_status(status: int, cls: type[ShipyardError]) -> None:
    with pytest.raises(cls, match="deployment 'x' is STOPPED"):
        connection(status, json={"error": "deployment 'x' is STOPPED"}).json(
            "POST", "http://gw.test/v1/models/x:predict", json={}
        )


def test_non_json_error_names_the_request() -> None:
    with pytest.raises(ShipyardError, match=r"GET http://api.test/api/v1/models answered 500"):
        connection(500, text="<html>oops</html>").json("GET", "/models")


def test_requests_carry_the_api_key_and_prefix() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    with Connection("api.test:8470/", "key-1", transport=httpx.MockTransport(handler)) as conn:
        assert conn.json("GET", "/models") == []
    assert str(seen[0].url) == "http://api.test:8470/api/v1/models"
    assert seen[0].headers["authorization"] == "ApiKey key-1"


def test_timeout_is_backend_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    conn = Connection("http://api.test", "k", transport=httpx.MockTransport(handler))
    with pytest.raises(BackendUnavailable, match="did not answer in time"):
        conn.json("GET", "/models")
