"""The usage history: samples per replica, bounded, with OOM, restart and scale events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shipyard.api.routes.usage import FollowSlots, fresh_lines
from shipyard.api.usage_history import MAX_REPLICAS, UsageHistory, sample_forever
from shipyard.errors import NotReady
from shipyard.spec.resources import Resources
from shipyard.spec.status import (
    DeploymentStatus,
    ReplicaExit,
    ReplicaPhase,
    ReplicaStatus,
    ReplicaUsage,
)

pytestmark = pytest.mark.unit
LIMITS = Resources(cores=1, memory=256)
REQUESTS = Resources(cores=0.5, memory=128)


def replica(
    rid: str,
    memory: float,
    *,
    component: str = "predictor",
    restarts: int = 0,
    phase: ReplicaPhase = ReplicaPhase.READY,
    oom_at: float | None = None,
    slot: int = 0,
) -> ReplicaStatus:
    exit_ = None
    if oom_at is not None:
        when = datetime.fromtimestamp(oom_at, UTC)
        exit_ = ReplicaExit(reason="OOMKilled", message="peak 260 MiB, limit 256 MiB", at=when)
    usage = ReplicaUsage(
        cpu_cores=0.25, memory_mb=memory, memory_peak_mb=memory, requests=REQUESTS, limits=LIMITS
    )
    return ReplicaStatus(
        id=rid, component=component, slot=slot, revision=1, phase=phase, restarts=restarts,
        last_exit=exit_, usage=usage,
    )  # fmt: skip


def snap(*replicas: ReplicaStatus, project: str = "p", name: str = "d"):
    return [(project, name, DeploymentStatus(replicas=list(replicas)))]


def test_samples_accumulate_per_replica_with_requests_and_limits() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    for t, mem in ((100.0, 50.0), (101.0, 60.0), (102.0, 70.0)):
        history.record(t, snap(replica("r1", mem), replica("r2", mem + 1)))
    replicas, events = history.query("p", "d", since=0)
    assert [r.replica for r in replicas] == ["r1", "r2"]
    assert [s.memory_mb for s in replicas[0].samples] == [50.0, 60.0, 70.0]
    assert replicas[0].limits == LIMITS and replicas[0].requests == REQUESTS
    assert events == []
    assert history.query("p", "other", since=0) == ([], [])
    assert history.query("other", "d", since=0) == ([], [])


def test_replicas_are_listed_per_slot_in_the_order_they_were_first_seen() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    history.record(100.0, snap(replica("zz-old", 1.0), replica("b-other", 1.0, slot=1)))
    history.record(101.0, snap(replica("aa-new", 1.0, restarts=1), replica("b-other", 1.0, slot=1)))
    replicas, _ = history.query("p", "d", since=0)
    # the replacement's id sorts first, yet it is listed after the replica it replaced
    assert [r.replica for r in replicas] == ["zz-old", "aa-new", "b-other"]
    assert [r.live for r in replicas] == [False, True, True]


def test_query_keeps_only_samples_since() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    for t in range(100, 110):
        history.record(float(t), snap(replica("r1", float(t))))
    replicas, _ = history.query("p", "d", since=105)
    assert [s.at for s in replicas[0].samples] == [105.0, 106.0, 107.0, 108.0, 109.0]


def test_samples_per_replica_are_bounded_by_the_retention() -> None:
    history = UsageHistory(interval_s=1, retention_s=10)
    for t in range(1000):
        history.record(float(t), snap(replica("r1", 1.0)))
    replicas, _ = history.query("p", "d", since=0)
    assert len(replicas[0].samples) == 11
    assert replicas[0].samples[-1].at == 999.0


def test_replicas_per_deployment_are_bounded_forgetting_gone_ones_first() -> None:
    history = UsageHistory(interval_s=1, retention_s=3600)
    for t in range(MAX_REPLICAS + 50):  # a crash loop: a new replica id every second
        history.record(float(t), snap(replica("steady", 1.0), replica(f"crash-{t}", 1.0, slot=1)))
    replicas, _ = history.query("p", "d", since=0)
    ids = {r.replica for r in replicas}
    assert len(ids) == MAX_REPLICAS
    assert "steady" in ids and f"crash-{MAX_REPLICAS + 49}" in ids and "crash-0" not in ids


def test_gone_replicas_and_deployments_are_forgotten_after_the_history() -> None:
    history = UsageHistory(interval_s=1, retention_s=10, history_s=10)
    history.record(0.0, snap(replica("old", 1.0)) + snap(replica("x", 1.0), name="gone"))
    for t in range(1, 20):
        history.record(float(t), snap(replica("new", 1.0)))
    replicas, _ = history.query("p", "d", since=0)
    assert [r.replica for r in replicas] == ["new"]
    assert history.query("p", "gone", since=0) == ([], [])


def test_restart_oom_and_scale_are_marked_once() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    history.record(1.0, snap(replica("r1", 100.0)))
    history.record(2.0, snap(replica("r1", 100.0), replica("r2", 90.0, slot=1)))  # 1 -> 2
    r2 = replica("r2", 9.0, slot=1)
    history.record(3.0, snap(replica("r1", 10.0, restarts=1, oom_at=2.5), r2))
    history.record(4.0, snap(replica("r1", 20.0, restarts=1, oom_at=2.5), r2))
    _, events = history.query("p", "d", since=0)
    kinds = [(e.kind, e.replica, e.at) for e in events]
    assert kinds == [("scale", "", 2.0), ("oom", "r1", 2.5), ("restart", "r1", 3.0)]
    assert events[0].message == "predictor: 1 -> 2 instances"
    assert "peak 260 MiB" in events[1].message


def test_a_replica_restarted_under_a_new_id_is_marked_once_by_its_slot() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    history.record(1.0, snap(replica("old", 100.0)))
    exited = replica("old", 100.0, phase=ReplicaPhase.EXITED, oom_at=1.5)
    history.record(2.0, snap(exited, replica("new", 5.0, restarts=1, oom_at=1.5)))
    history.record(3.0, snap(replica("new", 6.0, restarts=1, oom_at=1.5)))
    _, events = history.query("p", "d", since=0)
    assert [(e.kind, e.at, e.slot) for e in events] == [("oom", 1.5, 0), ("restart", 2.0, 0)]


def test_exited_replicas_take_no_samples_and_count_as_scale_down() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    history.record(1.0, snap(replica("r1", 10.0)))
    history.record(2.0, snap(replica("r1", 10.0, phase=ReplicaPhase.EXITED)))
    replicas, events = history.query("p", "d", since=0)
    assert len(replicas[0].samples) == 1
    assert not replicas[0].live
    assert [e.message for e in events] == ["predictor: 1 -> 0 instances"]


def test_replicas_gone_from_the_status_are_no_longer_live() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    history.record(1.0, snap(replica("r1", 10.0)))
    history.record(2.0, snap(replica("r2", 10.0)))
    replicas, _ = history.query("p", "d", since=0)
    assert [(r.replica, r.live) for r in replicas] == [("r1", False), ("r2", True)]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        UsageHistory(interval_s=0)
    with pytest.raises(ValueError):
        UsageHistory(interval_s=10, retention_s=5)
    with pytest.raises(ValueError):
        UsageHistory(interval_s=1, retention_s=60, history_s=30)


async def test_sampler_records_on_every_tick_and_survives_a_failing_snapshot() -> None:
    history = UsageHistory(interval_s=0.001, retention_s=60)
    calls = 0
    ticks = iter(float(t) for t in range(1000))

    def snapshot():
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("boom")
        if calls >= 5:
            done.set()
        return snap(replica("r1", float(calls)))

    done = asyncio.Event()
    task = asyncio.create_task(sample_forever(history, snapshot, clock=lambda: next(ticks)))
    await asyncio.wait_for(done.wait(), timeout=5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    replicas, _ = history.query("p", "d", since=0)
    assert [s.memory_mb for s in replicas[0].samples][:3] == [1.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("before", "after", "fresh"),
    [
        ([], ["a", "b"], ["a", "b"]),
        (["a", "b"], ["a", "b", "c"], ["c"]),
        (["a", "b", "c"], ["b", "c", "d", "e"], ["d", "e"]),  # window moved on
        (["x", "y"], ["a", "b"], ["a", "b"]),  # no overlap: all new
        (["a", "b"], ["a", "b"], []),
        (["a", "a"], ["a", "a", "a"], ["a"]),  # repeated lines
    ],
)
def test_fresh_lines(before: list[str], after: list[str], fresh: list[str]) -> None:
    assert fresh_lines(before, after) == fresh


def test_follow_slots_are_bounded_and_given_back() -> None:
    slots = FollowSlots(limit=2)
    slots.take()
    slots.take()
    with pytest.raises(NotReady, match="2 log follows are open"):
        slots.take()
    slots.give_back()
    slots.take()
    assert slots.open == 2


def test_a_stopping_server_refuses_new_follows() -> None:
    slots = FollowSlots(limit=2)
    slots.take()
    slots.close()  # the open one sees ``closing`` at its next poll and ends
    assert slots.closing
    with pytest.raises(NotReady, match="the server is stopping"):
        slots.take()
