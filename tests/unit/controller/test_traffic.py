"""Gateway reports -> traffic samples; gateway counters -> in-flight integral."""

from __future__ import annotations

import pytest

from shipyard.controller.traffic import TrafficLog
from shipyard.gateway.traffic import Traffic

pytestmark = pytest.mark.unit


def test_two_reports_make_a_sample_of_concurrency_and_rate() -> None:
    log = TrafficLog()
    log.record("d", requests=10, busy_s=5.0, in_flight=1, now=100.0)
    assert log.samples("d") == []  # the first report only sets the baseline
    log.record("d", requests=30, busy_s=9.0, in_flight=2, now=102.0)
    [sample] = log.samples("d")
    assert (sample.at, sample.rps, sample.concurrency, sample.in_flight) == (102.0, 10.0, 2.0, 2)


def test_counters_going_backwards_start_a_new_series() -> None:
    log = TrafficLog()
    log.record("d", requests=10, busy_s=5.0, in_flight=0, now=100.0)
    log.record("d", requests=2, busy_s=0.1, in_flight=0, now=101.0)  # gateway restarted
    assert log.samples("d") == []
    log.record("d", requests=4, busy_s=0.1, in_flight=0, now=102.0)
    assert log.samples("d")[0].rps == 2.0


def test_the_gateway_integrates_in_flight_requests_over_time() -> None:
    now = [0.0]
    traffic = Traffic(clock=lambda: now[0])
    key = ("p", "iris")
    traffic.begin(key)
    now[0] = 1.0
    traffic.begin(key)  # two in flight from t=1
    now[0] = 3.0
    traffic.end(key)
    now[0] = 4.0
    [snap] = traffic.snapshot()
    # 1 request for 1 s, then 2 for 2 s, then 1 for 1 s = 6 request-seconds
    assert snap == {"project_id": "p", "name": "iris", "in_flight": 1, "requests": 2, "busy_s": 6.0}


def test_the_gateways_rates_add_up_and_a_silent_gateway_stops_counting() -> None:
    log = TrafficLog()
    log.record("d", requests=0, busy_s=0.0, in_flight=0, now=100.0, gateway="0")
    log.record("d", requests=0, busy_s=0.0, in_flight=0, now=100.5, gateway="1")
    log.record("d", requests=10, busy_s=1.0, in_flight=1, now=101.0, gateway="0")
    log.record("d", requests=30, busy_s=3.0, in_flight=2, now=101.5, gateway="1")
    first, both = log.samples("d")
    assert (first.rps, first.concurrency, first.in_flight) == (10.0, 1.0, 1)  # only 0 rated yet
    assert (both.rps, both.concurrency, both.in_flight) == (40.0, 4.0, 3)  # 10 + 30 req/s
    log.record("d", requests=40, busy_s=4.0, in_flight=0, now=120.0, gateway="1")  # 0 is gone
    assert log.samples("d")[-1].in_flight == 0
    assert log.samples("d")[-1].rps == pytest.approx(10 / 18.5)
