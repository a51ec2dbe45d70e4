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


def test_workers_see_each_others_requests_in_flight(tmp_path):
    from shipyard.gateway.shared import SharedLoad

    path = tmp_path / "gateway-load"
    first = ReplicaPicker(shared=SharedLoad(path, 0, 2))
    second = ReplicaPicker(shared=SharedLoad(path, 1, 2))
    assert first.pick(URLS) == "a"
    assert second.pick(URLS) == "b"  # "a" is busy in the other worker
    assert first.pick(URLS) == "c"
    first.release("a")
    assert second.pick(URLS) == "a"  # free again everywhere
    second.release("a")
    second.release("b")
    first.release("c")
    assert [first.pick(URLS), second.pick(URLS)] == ["a", "b"]
    replaced = SharedLoad(path, 0, 2)  # a replaced worker starts from zero
    assert replaced.others("b") == 1 and SharedLoad(path, 1, 2).others("a") == 0


class RecordingShared:
    """A fake of the workers' shared counts that records what a pick does, in order."""

    def __init__(self, busy: dict[str, int]) -> None:
        self.busy = busy
        self.calls: list[str] = []

    def lock(self) -> None:
        self.calls.append("lock")

    def unlock(self) -> None:
        self.calls.append("unlock")

    def publish(self, url: str, count: int) -> None:
        self.calls.append(f"publish {url}={count}")

    def others(self, url: str) -> int:
        self.calls.append(f"read {url}")
        return self.busy.get(url, 0)

    def eject(self, url: str, until: float) -> None:
        self.calls.append(f"eject {url} until {until:g}")

    def ejected_until(self, url: str) -> float:
        return 0.0


def test_a_pick_reads_and_claims_under_the_workers_lock():
    shared = RecordingShared({"a": 1})
    picker = ReplicaPicker(shared=shared, clock=FakeClock())
    assert picker.pick(URLS) == "b"
    # no other worker can read "b" idle between this worker's read and its claim
    assert shared.calls == ["lock", "read a", "read b", "publish b=1", "unlock"]
    shared.calls.clear()
    picker.release("b")
    assert shared.calls == ["publish b=0"]  # a release only lowers a count: no lock needed
    shared.calls.clear()
    picker.eject("b")
    assert shared.calls == ["lock", "eject b until 105", "unlock"]


def test_a_replica_ejected_by_one_worker_is_skipped_by_the_others(tmp_path):
    from shipyard.gateway.shared import SharedLoad

    clock = FakeClock()  # time.monotonic() in production: one clock for every process
    path = tmp_path / "gateway-load"
    first = ReplicaPicker(shared=SharedLoad(path, 0, 2), clock=clock)
    second = ReplicaPicker(shared=SharedLoad(path, 1, 2), clock=clock)
    assert first.pick(URLS) == "a"
    first.eject("a")  # its request to "a" was lost (the replica is dying) ...
    first.release("a")  # ... and no longer counts: "a" looks idle, yet stays ejected
    assert second.is_ejected("a")
    assert second.pick(URLS) == "b"
    assert second.pick(URLS) == "c"
    assert second.pick(("a", "b", "c")) == "b"  # busy replicas before an ejected one
    clock.now += 5.0
    assert not second.is_ejected("a") and second.pick(URLS) == "a"


class BrokenShared(RecordingShared):
    def others(self, url: str) -> int:
        raise OSError("the shared file is gone")


def test_the_lock_is_released_when_a_pick_fails():
    shared = BrokenShared({})
    picker = ReplicaPicker(shared=shared, clock=FakeClock())
    with pytest.raises(OSError, match="gone"):
        picker.pick(URLS)
    assert shared.calls == ["lock", "unlock"]


def test_the_shared_lock_excludes_the_other_workers(tmp_path):
    import fcntl
    import os

    from shipyard.gateway.shared import SharedLoad

    path = tmp_path / "gateway-load"
    first, second = SharedLoad(path, 0, 2), SharedLoad(path, 1, 2)
    other = os.open(path, os.O_RDWR)  # another process's open file, as a worker has its own
    try:
        first.lock()
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        first.unlock()
        second.lock()  # free again
        second.unlock()
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_UN)
    finally:
        os.close(other)
        first.close()
        second.close()
