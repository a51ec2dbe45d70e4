"""The model repository extension's pure parts (shipyard.gateway.repository)."""

from __future__ import annotations

import pytest

from shipyard.gateway.repository import index_entry, match, parse_index_body
from shipyard.wire.routes import DeploymentRoute

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/repository/index", ("index", "")),
        ("/v2/repository/models/iris/load", ("load", "iris")),
        ("/v2/repository/models/iris/unload", ("unload", "iris")),
        ("/v2/repository/models/iris/delete", None),
        ("/v2/repository/models//load", None),
        ("/v2/repository/models/a/b/load", None),
        ("/v2/models/iris", None),
    ],
)
def test_paths(path, expected):
    assert match(path) == expected


def test_index_entries_speak_v2_states_with_shipyards_as_reason():
    route = DeploymentRoute("p", "iris", "STOPPED", message="stopped by you", model_version="2")
    assert index_entry(route, False) == {
        "name": "iris",
        "version": "2",
        "state": "UNAVAILABLE",
        "reason": "STOPPED: stopped by you",
    }
    assert index_entry(route, True)["state"] == "READY"


def test_index_body_ready_flag_is_strict():
    assert parse_index_body(b"") is False
    assert parse_index_body(b'{"ready": true}') is True
    with pytest.raises(ValueError, match="'ready' must be true or false"):
        parse_index_body(b'{"ready": "yes"}')
    with pytest.raises(ValueError, match="JSON object"):
        parse_index_body(b"[]")
