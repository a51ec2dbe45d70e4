"""Traffic per deployment as the gateway sees it, for the control plane's autoscaler.

For each deployment the gateway counts requests in flight (held ones included: a request waiting
for a cold start is demand), requests started, and the integral of in-flight requests over time
(``busy_s``), all cumulative. The control plane turns two successive reports into an average
concurrency (``Δbusy_s / Δt``) and a request rate (``Δrequests / Δt``). Pure bookkeeping with an
injectable clock; :class:`TrafficReporter` posts a snapshot every interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shipyard.wire.routes import DeploymentKey

logger = logging.getLogger(__name__)


@dataclass
class _Counter:
    in_flight: int = 0
    requests: int = 0
    busy_s: float = 0.0
    since: float = 0.0  # when in_flight last changed


class Traffic:
    """Cumulative traffic counters per deployment."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counters: dict[DeploymentKey, _Counter] = {}

    def _advance(self, key: DeploymentKey) -> _Counter:
        now = self._clock()
        counter = self._counters.setdefault(key, _Counter(since=now))
        counter.busy_s += counter.in_flight * (now - counter.since)
        counter.since = now
        return counter

    def begin(self, key: DeploymentKey) -> None:
        counter = self._advance(key)
        counter.in_flight += 1
        counter.requests += 1

    def end(self, key: DeploymentKey) -> None:
        counter = self._advance(key)
        counter.in_flight = max(0, counter.in_flight - 1)

    def in_flight(self, key: DeploymentKey) -> int:
        counter = self._counters.get(key)
        return counter.in_flight if counter is not None else 0

    def snapshot(self) -> list[dict[str, Any]]:
        """Every deployment's cumulative counters, as of now."""
        out = []
        for key in list(self._counters):
            counter = self._advance(key)
            out.append(
                {
                    "project_id": key[0],
                    "name": key[1],
                    "in_flight": counter.in_flight,
                    "requests": counter.requests,
                    "busy_s": round(counter.busy_s, 6),
                }
            )
        return out


class TrafficReporter:
    """Posts the traffic snapshot to ``{control}/internal/traffic`` every ``interval_s``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        traffic: Traffic,
        *,
        control_url: str,
        token: str,
        interval_s: float = 1.0,
        gateway: str = "0",
    ) -> None:
        self._client = client
        self._gateway = gateway
        self._traffic = traffic
        self._url = control_url.rstrip("/") + "/internal/traffic"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._interval_s = interval_s

    async def report_once(self) -> None:
        body = {"deployments": self._traffic.snapshot(), "gateway": self._gateway}
        response = await self._client.post(self._url, json=body, headers=self._headers)
        response.raise_for_status()

    async def run(self) -> None:
        """Report forever; errors are logged once per streak and never stop the loop."""
        failures = 0
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.report_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1:
                    logger.warning("traffic report failed: %r", exc)
