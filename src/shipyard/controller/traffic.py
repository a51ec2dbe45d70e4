"""Traffic samples per deployment, made from the gateway's cumulative reports.

The gateway reports, about every second, cumulative counters per deployment (requests started,
in-flight requests, and the in-flight integral ``busy_s``). Two successive reports give one
``Sample``: average concurrency ``Δbusy_s / Δt`` and rate ``Δrequests / Δt``. A counter that went
backwards (a restarted gateway) starts a new series.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from shipyard.controller.autoscale import Sample

KEEP_S = 900.0  # longer than any window worth configuring


@dataclass
class _Series:
    at: float
    requests: int
    busy_s: float
    samples: deque[Sample] = field(default_factory=deque)


class TrafficLog:
    """Samples per deployment id."""

    def __init__(self) -> None:
        self._series: dict[str, _Series] = {}

    def record(
        self, deployment_id: str, *, requests: int, busy_s: float, in_flight: int, now: float
    ) -> None:
        series = self._series.get(deployment_id)
        if series is None or requests < series.requests or busy_s < series.busy_s:
            self._series[deployment_id] = _Series(now, requests, busy_s)
            return
        elapsed = now - series.at
        if elapsed <= 0:
            return
        sample = Sample(
            at=now,
            concurrency=(busy_s - series.busy_s) / elapsed,
            rps=(requests - series.requests) / elapsed,
            in_flight=in_flight,
        )
        series.samples.append(sample)
        series.at, series.requests, series.busy_s = now, requests, busy_s
        while series.samples and series.samples[0].at < now - KEEP_S:
            series.samples.popleft()

    def samples(self, deployment_id: str) -> list[Sample]:
        series = self._series.get(deployment_id)
        return list(series.samples) if series is not None else []

    def forget(self, deployment_id: str) -> None:
        self._series.pop(deployment_id, None)
