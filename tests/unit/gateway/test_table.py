from __future__ import annotations

import pydantic
import pytest

from shipyard.gateway.table import DeploymentRoute, ReplicaPicker, parse_table

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


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


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
    with pytest.raises(pydantic.ValidationError):
        parse_table({"keys": {}})
    with pytest.raises(pydantic.ValidationError):
        parse_table({"version": 1, "deployments": [{"name": "x"}]})


def test_empty_table_parses():
    table = parse_table({"version": 0})
    assert table.keys == {}
    assert table.deployments == {}


DEP = ("p", "d")
URLS = ("a", "b", "c")


def test_picker_round_robins_per_deployment():
    picker = ReplicaPicker(clock=FakeClock())
    assert [picker.pick(DEP, URLS) for _ in range(6)] == ["a", "b", "c", "a", "b", "c"]
    assert picker.pick(("p", "other"), URLS) == "a"  # own position
    assert picker.pick(DEP, URLS) == "a"


def test_picker_skips_excluded_replicas_and_gives_up_when_all_are():
    picker = ReplicaPicker(clock=FakeClock())
    assert picker.pick(DEP, URLS, exclude={"a"}) == "b"
    assert picker.pick(DEP, URLS, exclude={"a", "b", "c"}) is None
    assert picker.pick(DEP, ()) is None


def test_ejected_replica_is_skipped_until_its_time_is_over():
    clock = FakeClock()
    picker = ReplicaPicker(eject_s=5.0, clock=clock)
    picker.eject("b")
    assert picker.is_ejected("b")
    assert [picker.pick(DEP, URLS) for _ in range(4)] == ["a", "c", "c", "a"]
    clock.now += 5.0
    assert not picker.is_ejected("b")
    assert "b" in {picker.pick(DEP, URLS) for _ in range(3)}


def test_when_all_are_ejected_the_one_ejected_first_is_tried():
    clock = FakeClock()
    picker = ReplicaPicker(eject_s=5.0, clock=clock)
    picker.eject("b")
    clock.now += 1
    picker.eject("a")
    picker.eject("c")
    assert picker.pick(DEP, URLS) == "b"
    assert picker.pick(DEP, URLS, exclude={"b"}) in {"a", "c"}


def test_eject_forgets_expired_entries():
    clock = FakeClock()
    picker = ReplicaPicker(eject_s=1.0, clock=clock)
    picker.eject("a")
    clock.now += 2
    picker.eject("b")
    assert not picker.is_ejected("a")
    assert picker.is_ejected("b")


def test_picker_survives_a_shrinking_replica_list():
    picker = ReplicaPicker(clock=FakeClock())
    for _ in range(2):
        picker.pick(DEP, URLS)
    assert picker.pick(DEP, ("x",)) == "x"
    assert picker.pick(DEP, ("x", "y")) in {"x", "y"}
