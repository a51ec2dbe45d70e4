"""The routing table the gateways long-poll: ready replicas per deployment, and key hashes.

The controller publishes a new table after every pass; the version only moves when the content
changed, so an idle gateway's long-poll simply waits. Each gateway process (``gateway`` in its
poll) sends back the last version it applied as ``after``; :attr:`RoutePublisher.applied` is the
lowest of them among the gateways heard from recently, so the controller can tell that a
replica removed from the table gets no new requests from any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

RECENT_S = 30.0
"""A gateway that has not polled for this long is gone (it no longer holds anyone back)."""


class RoutePublisher:
    def __init__(self) -> None:
        self._version = 0
        self._deployments: list[dict[str, Any]] = []
        self._keys: dict[str, str] = {}
        self._changed = asyncio.Condition()
        self._polls: dict[str, tuple[int, float]] = {}
        """gateway -> (version it applied, monotonic time of its last poll)."""

    @property
    def version(self) -> int:
        return self._version

    def snapshot(self) -> dict[str, Any]:
        return {"version": self._version, "keys": self._keys, "deployments": self._deployments}

    def _recent(self, within_s: float) -> list[int]:
        now = time.monotonic()
        return [applied for applied, at in self._polls.values() if now - at < within_s]

    def gateway_connected(self, within_s: float = RECENT_S) -> bool:
        """Whether a gateway has polled recently (else nobody needs to catch up)."""
        return bool(self._recent(within_s))

    @property
    def applied(self) -> int:
        """The oldest version applied by a gateway heard from within ``RECENT_S`` (0: none)."""
        return min(self._recent(RECENT_S), default=0)

    async def publish(self, deployments: list[dict[str, Any]], keys: dict[str, str]) -> None:
        if deployments == self._deployments and keys == self._keys:
            return
        async with self._changed:
            self._deployments, self._keys = deployments, keys
            self._version += 1
            self._changed.notify_all()

    async def wait(self, after: int, timeout: float, gateway: str = "0") -> dict[str, Any]:
        """The table as soon as its version differs from ``after``, or as is after ``timeout``.

        ``gateway`` names the polling process; ``after`` is the version it applied.
        """
        applied = after if after <= self._version else 0  # larger: from before our restart
        self._polls[gateway] = (applied, time.monotonic())
        if self._version == after:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self._version != after), timeout
                    )
        return self.snapshot()
