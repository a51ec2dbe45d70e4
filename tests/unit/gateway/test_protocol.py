from __future__ import annotations

import pytest

from shipyard.gateway.protocol import ModelCall, parse_v1, parse_v2

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("method", "rest", "call"),
    [
        ("GET", "iris", ModelCall("iris", "metadata")),
        ("POST", "iris:predict", ModelCall("iris", "predict")),
        ("POST", "my-model-2:predict", ModelCall("my-model-2", "predict")),
        ("GET", "iris:predict", None),
        ("POST", "iris", None),
        ("POST", "iris:explain", None),
        ("POST", ":predict", None),
        ("POST", "iris:", None),
        ("GET", "", None),
        ("POST", "a/b:predict", None),
        ("HEAD", "iris", None),
    ],
)
def test_parse_v1(method, rest, call):
    assert parse_v1(method, rest) == call


@pytest.mark.parametrize(
    ("method", "rest", "call"),
    [
        ("GET", "iris", ModelCall("iris", "metadata")),
        ("GET", "iris/ready", ModelCall("iris", "ready")),
        ("POST", "iris/infer", ModelCall("iris", "infer")),
        ("GET", "iris/versions/3", ModelCall("iris", "metadata", "3")),
        ("GET", "iris/versions/3/ready", ModelCall("iris", "ready", "3")),
        ("POST", "iris/versions/3/infer", ModelCall("iris", "infer", "3")),
        ("GET", "iris/infer", None),
        ("POST", "iris/ready", None),
        ("POST", "iris", None),
        ("GET", "iris/", None),
        ("GET", "iris/versions", None),
        ("GET", "iris/versions//ready", None),
        ("POST", "iris/versions/3/infer/x", None),
        ("GET", "iris/other", None),
        ("GET", "", None),
        ("POST", "/infer", None),
    ],
)
def test_parse_v2(method, rest, call):
    assert parse_v2(method, rest) == call
