"""The replica picker: least outstanding requests, ejection of failed replicas."""

from __future__ import annotations

import pytest

from shipyard.gateway.picker import ReplicaPicker

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


DEP = ("p", "d")
URLS = ("a", "b", "c")


def test_picker_sends_sequential_requests_to_the_first_replica():
    picker = ReplicaPicker(clock=FakeClock())
    for _ in range(4):
        url = picker.pick(URLS)
        assert url == "a"  # nothing in flight: the first in table order, kept warm
        picker.release(url)
    assert picker.outstanding("a") == 0


def test_picker_spreads_requests_in_flight_over_the_least_busy():
    picker = ReplicaPicker(clock=FakeClock())
    assert [picker.pick(URLS) for _ in range(5)] == ["a", "b", "c", "a", "b"]
    assert [picker.outstanding(u) for u in URLS] == [2, 2, 1]
    picker.release("a")
    picker.release("a")
    assert picker.pick(URLS) == "a"  # free again: ahead of the still busy b and c
    assert picker.pick(URLS) == "a"  # one in flight, like c: ties go to the first in order
    assert picker.pick(URLS) == "c"


def test_a_slow_replica_gets_no_more_while_others_are_free():
    picker = ReplicaPicker(clock=FakeClock())
    slow = picker.pick(URLS)
    for _ in range(3):
        url = picker.pick(URLS)
        assert url == "b"
        picker.release(url)
    picker.release(slow)
    assert picker.pick(URLS) == "a"


def test_release_of_an_unknown_replica_is_harmless():
    picker = ReplicaPicker(clock=FakeClock())
    picker.release("zzz")
    assert picker.outstanding("zzz") == 0
    assert picker.pick(URLS) == "a"


def test_picker_skips_excluded_replicas_and_gives_up_when_all_are():
    picker = ReplicaPicker(clock=FakeClock())
    assert picker.pick(URLS, exclude={"a"}) == "b"
    assert picker.pick(URLS, exclude={"a", "b", "c"}) is None
    assert picker.pick(()) is None


def test_ejected_replica_is_skipped_until_its_time_is_over():
    clock = FakeClock()
    picker = ReplicaPicker(eject_s=5.0, clock=clock)
    picker.eject("a")
    assert picker.is_ejected("a")
    assert [picker.pick(URLS) for _ in range(4)] == ["b", "c", "b", "c"]
    clock.now += 5.0
    assert not picker.is_ejected("a")
    assert picker.pick(URLS) == "a"


def test_when_all_are_ejected_the_one_ejected_first_is_tried():
    clock = FakeClock()
    picker = ReplicaPicker(eject_s=5.0, clock=clock)
    picker.eject("b")
    clock.now += 1
    picker.eject("a")
    picker.eject("c")
    assert picker.pick(URLS) == "b"
    assert picker.pick(URLS, exclude={"b"}) in {"a", "c"}


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
    held = [picker.pick(URLS) for _ in range(2)]
    assert picker.pick(("x",)) == "x"
    assert picker.pick(("x", "y")) == "y"
    for url in held:
        picker.release(url)
