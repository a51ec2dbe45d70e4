"""The autoscaling decision, driven by a fake clock and synthetic traffic."""

from __future__ import annotations

import pytest

from shipyard.controller.autoscale import Sample, ScaleState, decide, initial_state, wake
from shipyard.spec.scaling import ScaleMetric, ScalingConfig

pytestmark = pytest.mark.unit

CONFIG = ScalingConfig(
    min_instances=1, max_instances=10, target=2.0, stable_window_s=60.0, panic_window_s=6.0
)


class Run:
    """Feeds one sample a second and keeps the decisions."""

    def __init__(self, config: ScalingConfig, initial: int = 1) -> None:
        self.config = config
        self.now = 0.0
        self.state: ScaleState = initial_state(initial, self.now)
        self.samples: list[Sample] = []
        self.reasons: list[str] = []

    def seconds(self, n: int, *, concurrency: float = 0.0, rps: float = 0.0, starting: int = 0):
        for _ in range(n):
            self.now += 1.0
            in_flight = round(concurrency)
            self.samples.append(Sample(self.now, concurrency, rps, in_flight))
            self.samples = [s for s in self.samples if s.at > self.now - 120]
            d = decide(self.config, self.state, self.samples, now=self.now, starting=starting)
            self.state = d.state
            self.reasons.append(d.reason)
        return self.state.desired


def test_steady_load_scales_to_load_over_target() -> None:
    run = Run(CONFIG)
    assert run.seconds(61, concurrency=7.0) == 4  # ceil(7 / 2)
    assert run.seconds(30, concurrency=7.0) == 4  # steady: no flapping


def test_a_spike_panics_and_scales_up_within_the_panic_window() -> None:
    run = Run(CONFIG)
    assert run.seconds(60, concurrency=2.0) == 1
    run.seconds(3, concurrency=16.0)  # 8x the capacity of one replica, for 3 s
    assert run.state.desired >= 4  # the stable average alone would still ask for 1 or 2
    assert run.state.panic_until is not None and "panic" in run.reasons[-1]


def test_panic_never_scales_down_and_ends_after_a_stable_window() -> None:
    run = Run(CONFIG)
    run.seconds(60, concurrency=2.0)
    peak = run.seconds(4, concurrency=16.0)
    assert run.seconds(30, concurrency=0.5) == peak  # still in panic: hold the peak
    assert run.seconds(40, concurrency=0.5) == 1  # panic over, stable average is low


def test_load_gone_scales_down_after_the_stable_window_not_before() -> None:
    run = Run(CONFIG)
    assert run.seconds(60, concurrency=7.0) == 4
    assert run.seconds(20, concurrency=0.0) >= 2  # the window still remembers the load
    assert run.seconds(45, concurrency=0.0) == 1  # minimum, never zero with min 1


def test_scale_down_delay_holds_the_highest_recent_figure() -> None:
    config = CONFIG.model_copy(update={"scale_down_delay_s": 30.0, "stable_window_s": 10.0})
    run = Run(config)
    assert run.seconds(10, concurrency=8.0) == 4
    assert run.seconds(15, concurrency=0.0) == 4  # wanted fewer for < 30 s
    assert run.seconds(30, concurrency=0.0) == 1


def test_never_above_maximum_nor_below_minimum() -> None:
    config = CONFIG.model_copy(update={"min_instances": 2, "max_instances": 3})
    run = Run(config, initial=2)
    assert run.seconds(61, concurrency=100.0) == 3
    assert run.seconds(120, concurrency=0.0) == 2


def test_requests_per_second_metric() -> None:
    config = CONFIG.model_copy(update={"scale_metric": ScaleMetric.RPS, "target": 50.0})
    run = Run(config)
    assert run.seconds(61, rps=230.0, concurrency=1.0) == 5


ZERO = ScalingConfig(
    min_instances=0, max_instances=2, target=1.0, stable_window_s=10.0, panic_window_s=2.0,
    scale_to_zero_after_s=20.0,
)  # fmt: skip


def test_scale_to_zero_after_the_retention_period_only() -> None:
    run = Run(ZERO)
    run.seconds(5, concurrency=1.0, rps=5.0)
    assert run.seconds(15, concurrency=0.0) == 1  # idle 15 s of 20
    assert run.seconds(6, concurrency=0.0) == 0
    assert any("scaled to zero" in reason for reason in run.reasons[-6:])
    assert run.seconds(30, concurrency=0.0) == 0  # stays at zero without traffic


def test_never_to_zero_with_a_request_in_flight_or_a_replica_starting() -> None:
    run = Run(ZERO)
    assert run.seconds(40, concurrency=0.0, starting=1) == 1
    # one slow request in flight for a minute: nothing completes, nothing starts
    assert run.seconds(60, concurrency=1.0, rps=0.0) == 1
    assert run.seconds(21, concurrency=0.0) == 0


def test_a_held_request_wakes_a_component_at_zero() -> None:
    run = Run(ZERO, initial=0)
    assert run.seconds(5) == 0
    run.state = wake(run.state, run.now)
    assert run.state.desired == 1
    # the woken replica stays for the retention period although no traffic was recorded yet
    assert run.seconds(19) == 1
    assert run.seconds(3) == 0


def test_traffic_at_zero_brings_one_back() -> None:
    run = Run(ZERO, initial=0)
    assert run.seconds(3, concurrency=0.4, rps=2.0) == 1
