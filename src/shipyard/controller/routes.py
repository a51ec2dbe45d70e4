"""The routing table the gateway long-polls: ready replicas per deployment, and key hashes.

The controller publishes a new table after every pass; the version only moves when the content
changed, so an idle gateway's long-poll simply waits. ``applied`` records the last version a
gateway confirmed (it sends it back as ``after``), so the controller can tell that a replica
removed from the table gets no new requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any


class RoutePublisher:
    def __init__(self) -> None:
        self._version = 0
        self._deployments: list[dict[str, Any]] = []
        self._keys: dict[str, str] = {}
        self._changed = asyncio.Condition()
        self.applied = 0
        self._last_poll: float | None = None

    @property
    def version(self) -> int:
        return self._version

    def snapshot(self) -> dict[str, Any]:
        return {"version": self._version, "keys": self._keys, "deployments": self._deployments}

    def gateway_connected(self, within_s: float = 30.0) -> bool:
        """Whether a gateway has polled recently (else nobody needs to catch up)."""
        return self._last_poll is not None and time.monotonic() - self._last_poll < within_s

    async def publish(self, deployments: list[dict[str, Any]], keys: dict[str, str]) -> None:
        if deployments == self._deployments and keys == self._keys:
            return
        async with self._changed:
            self._deployments, self._keys = deployments, keys
            self._version += 1
            self._changed.notify_all()

    async def wait(self, after: int, timeout: float) -> dict[str, Any]:
        """The table as soon as its version differs from ``after``, or as is after ``timeout``."""
        if after <= self._version:  # a larger ``after`` is from before a restart of ours
            self.applied = max(self.applied, after)
        self._last_poll = time.monotonic()
        if self._version == after:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self._version != after), timeout
                    )
        return self.snapshot()
