"""CPU throttling read from the cgroup's cpu.stat (v1 and v2), turned into a share of the
periods between two samples by the controller's ``Tracked.sample``."""

from __future__ import annotations

import pytest

from shipyard.backends.limits.cgroups import CgroupSet
from shipyard.backends.protocol import ReplicaRef, UsageSample
from shipyard.controller.tracking import USAGE_EVERY_S, Tracked
from shipyard.spec.resources import Resources
from shipyard.spec.status import ReplicaPhase
from tests.unit.backends.conftest import FakeHost

pytestmark = pytest.mark.unit
REQUESTS = Resources(cores=0.25, memory=64)
LIMITS = Resources(cores=0.5, memory=200)
STAT = "nr_periods 400\nnr_throttled 100\nthrottled_time 5000000\n"


def test_v1_and_v2_read_periods_and_throttled_periods(v1_host: FakeHost, v2_host: FakeHost):
    old = CgroupSet.create(v1_host.hierarchy, "r-1")
    old.apply(REQUESTS, LIMITS)
    (old.dirs["cpu"] / "cpu.stat").write_text(STAT)
    new = CgroupSet.create(v2_host.hierarchy, "r-2")
    new.apply(REQUESTS, LIMITS)
    (new.dirs["cpu"] / "cpu.stat").write_text("usage_usec 1000000\n" + STAT)
    for usage in (old.usage(), new.usage()):
        assert (usage.cpu_periods, usage.cpu_throttled) == (400, 100)


def test_the_status_shows_the_share_throttled_since_the_last_sample() -> None:
    ref = ReplicaRef(
        replica_id="r", deployment_id="d", component="predictor", slot=0, revision=1,
        template="t", pid=1, url=None,
    )  # fmt: skip
    tracked = Tracked(ref=ref, phase=ReplicaPhase.READY, started_mono=0.0)

    def used(periods: int | None, throttled: int | None) -> UsageSample:
        return UsageSample(1.0, 1 << 20, 1 << 20, cpu_periods=periods, cpu_throttled=throttled)

    tracked.sample(used(100, 10), None, 0.0)
    assert tracked.usage is not None and tracked.usage.cpu_throttled is None  # no interval yet
    tracked.sample(used(300, 60), None, USAGE_EVERY_S)
    assert tracked.usage.cpu_throttled == 0.25  # 50 of 200 periods
    tracked.sample(used(None, None), None, 2 * USAGE_EVERY_S)
    assert tracked.usage.cpu_throttled is None  # not measured
