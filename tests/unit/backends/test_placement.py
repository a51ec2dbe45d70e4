"""Choosing the CPUs a LOCAL replica is pinned to (pure bookkeeping, no processes)."""

from __future__ import annotations

import pytest

from shipyard.backends.limits.placement import CpuPlacer
from shipyard.spec.resources import Resources

pytestmark = pytest.mark.unit


def cores(count: float) -> Resources:
    return Resources(cores=count, memory=100)


@pytest.mark.parametrize(("limit", "width"), [(0.25, 1), (1, 1), (1.01, 2), (2, 2), (7, 4), (0, 4)])
def test_width_is_the_limit_rounded_up_and_all_cpus_without_one(limit: float, width: int):
    assert CpuPlacer([0, 1, 2, 3]).width(cores(limit)) == width


def test_replicas_of_one_core_take_turns_over_the_cpus():
    placer = CpuPlacer([2, 3])
    assert [placer.assign(f"r{i}", cores(1)) for i in range(5)] == [[2], [3], [2], [3], [2]]
    assert placer.load() == {2: 3, 3: 2}


def test_the_least_used_cpus_are_taken_first():
    placer = CpuPlacer([0, 1, 2, 3])
    placer.assign("a", cores(1))  # 0
    placer.assign("b", cores(2))  # 1, 2
    placer.release("a")
    assert placer.assign("c", cores(2)) == [0, 3]
    assert placer.assign("d", cores(1)) == [1]


def test_a_limit_spanning_every_cpu_is_not_pinned_nor_counted():
    placer = CpuPlacer([0, 1])
    assert placer.assign("wide", cores(2)) == []
    assert placer.assign("free", cores(0)) == []
    assert placer.load() == {0: 0, 1: 0}


def test_adopted_replicas_count_when_pinned_to_a_subset():
    placer = CpuPlacer([0, 1, 2])
    assert placer.adopt("old", {1}) == [1]
    assert placer.adopt("everywhere", {0, 1, 2}) == []
    assert placer.adopt("elsewhere", {7}) == []
    assert placer.assign("new", cores(1)) == [0]
    assert placer.assign("newer", cores(1)) == [2]


def test_release_of_an_unknown_replica_is_ignored():
    placer = CpuPlacer([0, 1])
    placer.release("nobody")
    assert placer.load() == {0: 0, 1: 0}
