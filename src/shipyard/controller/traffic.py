"""Traffic samples per deployment, made from the gateways' cumulative reports.

Each gateway process reports, about every second, cumulative counters per deployment (requests
started, in-flight requests, and the in-flight integral ``busy_s``). Two successive reports of
one gateway give its rates: average concurrency ``Δbusy_s / Δt`` and rate ``Δrequests / Δt``.
Every such report adds one ``Sample`` of the deployment: the sum of the latest rates of the
gateways heard from within ``STALE_S`` (with one gateway: exactly its rates). A gateway whose
counters went backwards (it restarted) starts over without a sample.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from shipyard.controller.autoscale import Sample

KEEP_S = 900.0  # longer than any window worth configuring
STALE_S = 10.0
"""A gateway silent for this long (stopped, restarted under a new name) no longer counts."""


@dataclass
class _Source:
    """One gateway's counters for one deployment, and the rates its last two reports gave."""

    at: float
    requests: int
    busy_s: float
    in_flight: int
    concurrency: float = 0.0
    rps: float = 0.0


class TrafficSeries:
    """The samples of one deployment, from the reports of every gateway."""

    def __init__(self) -> None:
        self._sources: dict[str, _Source] = {}
        self._samples: deque[Sample] = deque()

    def record(
        self, *, requests: int, busy_s: float, in_flight: int, now: float, gateway: str = "0"
    ) -> None:
        """One report of ``gateway``'s cumulative counters for this deployment."""
        source = self._sources.get(gateway)
        if source is None or requests < source.requests or busy_s < source.busy_s:
            self._sources[gateway] = _Source(now, requests, busy_s, in_flight)
            return
        elapsed = now - source.at
        if elapsed <= 0:
            return
        source.concurrency = (busy_s - source.busy_s) / elapsed
        source.rps = (requests - source.requests) / elapsed
        source.at, source.requests, source.busy_s = now, requests, busy_s
        source.in_flight = in_flight
        live = [s for s in self._sources.values() if now - s.at <= STALE_S]
        sample = Sample(
            at=now,
            concurrency=sum(s.concurrency for s in live),
            rps=sum(s.rps for s in live),
            in_flight=sum(s.in_flight for s in live),
        )
        self._samples.append(sample)
        while self._samples and self._samples[0].at < now - KEEP_S:
            self._samples.popleft()

    def samples(self) -> list[Sample]:
        return list(self._samples)


class TrafficLog:
    """Samples per deployment id (a :class:`TrafficSeries` each)."""

    def __init__(self) -> None:
        self._series: dict[str, TrafficSeries] = {}

    def record(
        self,
        deployment_id: str,
        *,
        requests: int,
        busy_s: float,
        in_flight: int,
        now: float,
        gateway: str = "0",
    ) -> None:
        """One report of ``gateway``'s cumulative counters for a deployment."""
        series = self._series.setdefault(deployment_id, TrafficSeries())
        series.record(
            requests=requests, busy_s=busy_s, in_flight=in_flight, now=now, gateway=gateway
        )

    def samples(self, deployment_id: str) -> list[Sample]:
        series = self._series.get(deployment_id)
        return series.samples() if series is not None else []

    def forget(self, deployment_id: str) -> None:
        self._series.pop(deployment_id, None)
