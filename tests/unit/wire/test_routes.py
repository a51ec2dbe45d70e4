"""The routing table's JSON shape: parsed strictly, published by the same type."""

from __future__ import annotations

import pytest

from shipyard.wire.routes import DeploymentRoute, TensorSpec, parse_table

pytestmark = pytest.mark.unit

WIRE = {
    "version": 7,
    "keys": {"h-a": "proj-a", "h-b": "proj-b"},
    "deployments": [
        {
            "project_id": "proj-a",
            "name": "iris",
            "state": "RUNNING",
            "message": "",
            "revision": 3,
            "predictor": ["http://127.0.0.1:1/", "http://127.0.0.1:2"],
            "transformer": [],
            "some_future_field": 1,
        },
        {"project_id": "proj-b", "name": "other", "state": "STOPPED", "message": "stopped by user"},
    ],
}


def test_parse_builds_lookups_and_strips_trailing_slashes():
    table = parse_table(WIRE)
    assert table.version == 7
    assert table.project_for("h-a") == "proj-a"
    assert table.project_for("nope") is None
    route = table.route("proj-a", "iris")
    assert route == DeploymentRoute(
        project_id="proj-a",
        name="iris",
        state="RUNNING",
        message="",
        revision=3,
        predictor=("http://127.0.0.1:1", "http://127.0.0.1:2"),
        transformer=(),
    )
    assert route.key == ("proj-a", "iris")


def test_a_name_is_only_found_in_its_own_project():
    table = parse_table(WIRE)
    assert table.route("proj-b", "iris") is None
    assert table.route("proj-a", "other") is None
    other = table.route("proj-b", "other")
    assert other is not None
    assert other.predictor == ()
    assert other.message == "stopped by user"


def test_malformed_payload_is_rejected():
    with pytest.raises(ValueError, match="'version'"):
        parse_table({"keys": {}})
    with pytest.raises(ValueError, match="'project_id'"):
        parse_table({"version": 1, "deployments": [{"name": "x"}]})
    with pytest.raises(ValueError, match="'predictor'"):
        parse_table({"version": 1, "deployments": [{**WIRE["deployments"][1], "predictor": "x"}]})
    with pytest.raises(ValueError, match="'max_batch_size' must be a number"):
        parse_table(
            {"version": 1, "deployments": [{**WIRE["deployments"][1], "max_batch_size": True}]}
        )
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_table([])


def test_empty_table_parses():
    table = parse_table({"version": 0})
    assert table.keys == {}
    assert table.deployments == {}


def test_a_route_round_trips_through_its_wire_shape():
    route = DeploymentRoute(
        "p", "iris", "RUNNING", "m", 4, ("http://a",), ("http://t",), True, True, 8, 0.005,
        model_version="3", max_body_bytes=1 << 20,
        inputs=(TensorSpec("input-0", "FP64", (-1, 4)),),
        outputs=(TensorSpec("out", "INT64", (-1,)),),
    )  # fmt: skip
    table = parse_table({"version": 2, "deployments": [route.to_wire()], "epoch": "e1"})
    assert table.route("p", "iris") == route
    assert table.epoch == "e1" and table.names("p") == ("iris",) and table.names("q") == ()
