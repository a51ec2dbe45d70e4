"""The V1/V2 path table both hops match requests against."""

from __future__ import annotations

import pytest

from shipyard.wire.paths import Action, Call, WrongMethod, match

pytestmark = pytest.mark.unit


def found(method: str, path: str) -> tuple[str, Action, str, str | None] | None:
    call = match(method, path)
    assert not isinstance(call, WrongMethod)
    return None if call is None else (call.protocol, call.action, call.name, call.version)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1/models", ("v1", Action.LIST, "", None)),
        ("GET", "/v1/models/iris", ("v1", Action.METADATA, "iris", None)),
        ("HEAD", "/v1/models/iris", ("v1", Action.METADATA, "iris", None)),
        ("POST", "/v1/models/iris:predict", ("v1", Action.PREDICT, "iris", None)),
        ("POST", "/v1/models/my-model-2:predict", ("v1", Action.PREDICT, "my-model-2", None)),
        ("GET", "/v2/models/iris", ("v2", Action.METADATA, "iris", None)),
        ("GET", "/v2/models/iris/ready", ("v2", Action.READY, "iris", None)),
        ("POST", "/v2/models/iris/infer", ("v2", Action.INFER, "iris", None)),
        ("GET", "/v2/models/iris/versions/3", ("v2", Action.METADATA, "iris", "3")),
        ("GET", "/v2/models/iris/versions/3/ready", ("v2", Action.READY, "iris", "3")),
        ("POST", "/v2/models/iris/versions/abc/infer", ("v2", Action.INFER, "iris", "abc")),
        ("GET", "/v2/health/live", ("server", Action.LIVE, "", None)),
        ("GET", "/v2/health/ready", ("server", Action.SERVER_READY, "", None)),
        ("GET", "/v2", ("server", Action.SERVER_METADATA, "", None)),
        ("POST", "/v1/models/iris:explain", None),
        ("POST", "/v1/models/:predict", None),
        ("POST", "/v1/models/iris:", None),
        ("GET", "/v1/models/", None),
        ("POST", "/v1/models/a/b:predict", None),
        ("GET", "/v2/models/iris/", None),
        ("GET", "/v2/models/iris/versions", None),
        ("GET", "/v2/models/iris/versions//ready", None),
        ("POST", "/v2/models/iris/versions/3/infer/x", None),
        ("GET", "/v2/models/iris/other", None),
        ("GET", "/v2/models/", None),
        ("POST", "/v2/models//infer", None),
        ("GET", "/v3", None),
    ],
)
def test_paths_name_their_endpoint(method, path, expected):
    assert found(method, path) == expected


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/models/iris:predict", ("POST",)),
        ("POST", "/v1/models/iris", ("GET",)),
        ("GET", "/v2/models/iris/infer", ("POST",)),
        ("POST", "/v2/models/iris/ready", ("GET",)),
        ("DELETE", "/v2/health/live", ("GET",)),
    ],
)
def test_a_known_path_with_another_method_is_a_wrong_method(method, path, allowed):
    assert match(method, path) == WrongMethod(allowed)


def test_a_call_carries_its_endpoint():
    call = match("POST", "/v2/models/iris/versions/2/infer")
    assert isinstance(call, Call) and call.endpoint.template.endswith("/versions/{version}/infer")
