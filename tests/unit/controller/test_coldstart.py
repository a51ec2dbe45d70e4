"""Cold-start bookkeeping: phases in order, summing to the wall time, bounded, histograms."""

from __future__ import annotations

import pytest

from shipyard.api.metrics import start_phases
from shipyard.api.routes.coldstarts import component_starts
from shipyard.controller.coldstart import PHASES, ColdStarts

pytestmark = pytest.mark.unit
KEY = ("dep", "predictor", 0)


def test_phases_follow_the_marks_and_sum_to_the_wall_time() -> None:
    cold = ColdStarts()
    cold.want(KEY, 10.0)
    cold.want(KEY, 11.0)  # asked again on the next pass: the clock keeps running
    cold.environment_ready(KEY, 14.0)  # built for 4 s
    cold.admitted(KEY, 15.5)  # waited 1.5 s for room
    cold.spawned(KEY, "r1", 15.75)
    start = cold.ready("r1", 19.0, wall=1000.0)
    assert start is not None
    assert dict(start.phases) == {
        "environment": 4.0, "capacity": 1.5, "spawn": 0.25, "imports": 0.0, "model_load": 0.0,
        "startup": 3.25,
    }  # fmt: skip
    assert not start.runtime_reported
    assert [p for p, _ in start.phases] == list(PHASES)
    assert start.total_s == 9.0 and not start.reused_environment
    assert cold.ready("r1", 20.0, wall=1001.0) is None  # only the first readiness counts
    assert cold.recent("dep") == {"predictor": [start]}


def test_the_runtime_s_own_timings_are_carved_out_of_the_load() -> None:
    cold = ColdStarts()
    cases = [
        (KEY, "a", {"imports": 1.0, "model_load": 2.0}),
        (("dep", "predictor", 1), "b", {"imports": 9.0, "model_load": 9.0}),
    ]
    for key, rid, reported in cases:
        cold.want(key, 0.0)
        cold.environment_ready(key, 0.0)
        cold.admitted(key, 0.0)
        cold.spawned(key, rid, 0.5)
        start = cold.ready(rid, 4.0, wall=0.0, reported=reported)
        assert start is not None and start.runtime_reported and start.total_s == 4.0
        phases = dict(start.phases)
        if rid == "a":
            assert (phases["imports"], phases["model_load"], phases["startup"]) == (1.0, 2.0, 0.5)
        else:  # a report longer than the load is capped by it: the sum stays the wall time
            assert (phases["imports"], phases["model_load"], phases["startup"]) == (3.5, 0.0, 0.0)


def test_a_reused_environment_costs_nothing_and_failures_restart_the_clock() -> None:
    cold = ColdStarts()
    cold.want(KEY, 1.0)
    cold.environment_ready(KEY, 1.0)
    cold.admitted(KEY, 1.0)
    cold.failed(KEY)
    cold.want(KEY, 5.0)
    cold.environment_ready(KEY, 5.0)
    cold.admitted(KEY, 5.0)
    cold.spawned(KEY, "r2", 5.5)
    start = cold.ready("r2", 7.0, wall=0.0)
    assert start is not None and start.reused_environment and start.total_s == 2.0
    cold.want(KEY, 8.0)
    cold.environment_ready(KEY, 8.0)
    cold.admitted(KEY, 8.0)
    cold.spawned(KEY, "r3", 8.1)
    cold.gone("r3")  # died before it was ready
    assert cold.ready("r3", 9.0, wall=0.0) is None
    cold.forget("dep")
    assert cold.recent("dep") == {}


def test_percentiles_and_the_metrics_histogram() -> None:
    cold = ColdStarts()
    for i in range(10):
        key = ("dep", "predictor", i)
        cold.want(key, 0.0)
        cold.environment_ready(key, 0.0)
        cold.admitted(key, 0.0)
        cold.spawned(key, f"r{i}", 0.2)
        cold.ready(f"r{i}", 0.2 + i, wall=float(i))
    summary = component_starts("predictor", cold.recent("dep")["predictor"])
    assert summary.count == 10 and summary.latest.replica == "r9"
    startup = summary.percentiles["startup"]
    assert startup.p50 == 4.0 and startup.max == 9.0
    assert summary.percentiles["total"].p95 == pytest.approx(9.2)
    family = start_phases(cold)
    load = {s.labels.get("le"): s.value for s in family.samples if s.labels["phase"] == "startup"
            and s.name.endswith("_bucket")}  # fmt: skip
    assert load["1.0"] == 2 and load["5.0"] == 6 and load["+Inf"] == 10
