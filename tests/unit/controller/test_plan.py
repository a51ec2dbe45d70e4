from __future__ import annotations

import pytest

from shipyard.controller.plan import ComponentTarget, ReplicaView, StartReplica, StopReplica, plan
from shipyard.spec.status import ReplicaPhase

pytestmark = pytest.mark.unit

READY, STARTING = ReplicaPhase.READY, ReplicaPhase.STARTING


def target(instances: int, template: str = "t1", component: str = "predictor") -> ComponentTarget:
    return ComponentTarget("d1", component, instances, template)


def replica(rid: str, slot: int, phase=READY, template="t1", started=0.0, dep="d1") -> ReplicaView:
    return ReplicaView(rid, dep, "predictor", slot, template, phase, started)


def run(targets, replicas, now=100.0, retry_at=None, timeout=60.0):
    return plan(targets, replicas, retry_at=retry_at or {}, now=now, start_timeout_s=timeout)


def test_starts_every_missing_slot():
    actions = run([target(3)], [replica("a", 1)])
    assert actions == [
        StartReplica("d1", "predictor", 0, "t1"),
        StartReplica("d1", "predictor", 2, "t1"),
    ]


def test_a_slot_in_backoff_is_not_restarted_until_its_time():
    assert run([target(1)], [], now=10.0, retry_at={("d1", "predictor", 0): 12.0}) == []
    assert run([target(1)], [], now=12.5, retry_at={("d1", "predictor", 0): 12.0}) == [
        StartReplica("d1", "predictor", 0, "t1")
    ]


def test_scale_down_stops_the_highest_slots_only():
    actions = run([target(1)], [replica("a", 0), replica("b", 1), replica("c", 2)])
    assert actions == [StopReplica("b", "scaled down"), StopReplica("c", "scaled down")]


def test_new_template_starts_a_replacement_and_keeps_the_old_until_it_is_ready():
    old = replica("old", 0, template="t1")
    assert run([target(1, "t2")], [old]) == [StartReplica("d1", "predictor", 0, "t2")]
    new_starting = replica("new", 0, STARTING, template="t2", started=99.0)
    assert run([target(1, "t2")], [old, new_starting]) == []
    new_ready = replica("new", 0, READY, template="t2", started=99.0)
    assert run([target(1, "t2")], [old, new_ready]) == [
        StopReplica("old", "replaced by a new revision")
    ]


def test_duplicates_of_a_slot_keep_the_ready_one():
    replicas = [replica("x", 0, STARTING, started=91.0), replica("y", 0, READY, started=95.0)]
    actions = run([target(1)], replicas)
    assert actions == [StopReplica("x", "duplicate of its slot")]


def test_a_replica_starting_for_too_long_is_stopped():
    actions = run(
        [target(1)], [replica("slow", 0, STARTING, started=10.0)], now=100.0, timeout=60.0
    )
    assert actions == [StopReplica("slow", "StartTimeout")]


def test_replicas_of_deployments_no_longer_desired_are_stopped():
    actions = run([], [replica("a", 0, dep="gone")])
    assert actions == [StopReplica("a", "no longer desired")]


def test_zero_instances_stops_everything_and_starts_nothing():
    assert run([target(0)], [replica("a", 0)]) == [StopReplica("a", "scaled down")]


def test_exited_and_stopping_replicas_are_ignored():
    replicas = [replica("a", 0, ReplicaPhase.EXITED), replica("b", 0, ReplicaPhase.STOPPING)]
    assert run([target(1)], replicas) == [StartReplica("d1", "predictor", 0, "t1")]


def test_a_rollout_replaces_one_slot_at_a_time():
    olds = [replica(f"old{i}", i, template="t1") for i in range(3)]
    assert run([target(3, "t2")], olds) == [StartReplica("d1", "predictor", 0, "t2")]
    starting = replica("new0", 0, template="t2", phase=ReplicaPhase.STARTING, started=90.0)
    assert run([target(3, "t2")], [*olds, starting]) == []  # slot 0 surges: the rest waits
    ready = replica("new0", 0, template="t2")
    actions = run([target(3, "t2")], [*olds, ready])
    assert StopReplica("old0", "replaced by a new revision") in actions
    assert StartReplica("d1", "predictor", 1, "t2") in actions
    assert not any(isinstance(a, StartReplica) and a.slot == 2 for a in actions)


def test_a_missing_slot_starts_even_during_a_rollout():
    olds = [replica(f"old{i}", i, template="t1") for i in range(2)]
    actions = run([target(3, "t2")], olds)
    assert StartReplica("d1", "predictor", 0, "t2") in actions
    assert StartReplica("d1", "predictor", 2, "t2") in actions  # scale-up is not a surge
    assert StartReplica("d1", "predictor", 1, "t2") not in actions
