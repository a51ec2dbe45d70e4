"""Keeps the gateway's routing table current by long-polling the control plane.

Runs as one background task of the gateway process (started and cancelled by the lifespan in
:mod:`shipyard.gateway.app`). Each round asks ``GET {control}/internal/routes?after=<v>&wait=<s>``
(contract section 2) and swaps in the new :class:`~shipyard.wire.routes.RoutingTable` with one
attribute assignment, so a request handler always sees one whole table. Errors never stop the
loop: it backs off (bounded) and keeps serving the last good table, so predictions go on while
the control plane is down or restarting. A table of version 0 is the empty one a control plane
answers before its first publish (starting, or recovering after a crash): it is never applied,
so the gateway is not ready until it holds a table really published, and a gateway that held
one keeps it instead of turning valid keys into 401s. After the control plane was unreachable,
the next poll asks with ``after=0``: a restarted control plane counts versions from scratch, and
its first table is taken whatever its number.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from shipyard.wire.routes import RoutingTable, parse_table

logger = logging.getLogger(__name__)


class RouteSync:
    """The long-poll client and holder of the current routing table.

    Args:
        client: HTTP client for the control plane; its read timeout must exceed ``wait_s``.
        control_url: base URL of the control plane.
        token: the internal token, sent as ``Authorization: Bearer <token>``.
        wait_s: how long one poll may be held open by the control plane.
        on_table: called with each table once it is in use.
        gateway: this gateway process's name among the server's gateways (sent with polls).
        backoff_min_s: first delay after a failed poll (doubles per failure) and the pause
            after an answer without change.
        backoff_max_s: upper bound of the delay after failures.
        sleep: the sleep function (tests pass a fake).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        control_url: str,
        token: str,
        wait_s: float,
        on_table: Callable[[RoutingTable], None] | None = None,
        gateway: str = "0",
        backoff_min_s: float = 0.2,
        backoff_max_s: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._url = control_url.rstrip("/") + "/internal/routes"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._wait_s = wait_s
        self._gateway = gateway
        self._on_table = on_table
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._table: RoutingTable | None = None
        self._lost = False
        """The control plane could not be reached since the last table: take the next one."""

    @property
    def table(self) -> RoutingTable | None:
        """The table in use, or None until the first one arrived."""
        return self._table

    async def poll_once(self) -> bool:
        """Ask the control plane once; apply the table it answers if it is a new one.

        Returns:
            True when a new table was applied.

        Raises:
            httpx.HTTPError: the control plane could not be reached or answered an error.
            ValueError: the answer does not have the contract's shape.
        """
        current = self._table
        fresh = current is None or self._lost
        params = {
            "after": "0" if fresh or current is None else str(current.version),
            "wait": f"{self._wait_s if current is not None else 0:g}",  # first: at once
            "gateway": self._gateway,
        }
        response = await self._client.get(self._url, params=params, headers=self._headers)
        response.raise_for_status()
        table = parse_table(response.json())
        if table.version == 0:  # nothing published yet: keep what we hold
            return False
        self._lost = False
        if current is not None and not fresh and table.version == current.version:
            return False
        self._table = table
        if self._on_table is not None:
            self._on_table(table)
        logger.debug("routing table version %d applied", table.version)
        return True

    async def run(self) -> None:
        """Poll forever; returns only by cancellation."""
        delay = self._backoff_min_s
        failures = 0
        while True:
            try:
                changed = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop must never die: log, back off, keep the table
                failures += 1
                self._lost = True
                log = logger.warning if failures == 1 else logger.debug
                log("routing table poll failed (%d in a row): %r", failures, exc)
                await self._sleep(delay)
                delay = min(delay * 2, self._backoff_max_s)
                continue
            if failures:
                logger.info("routing table poll recovered after %d failures", failures)
            failures, delay = 0, self._backoff_min_s
            if not changed:  # a control plane that answers at once must not make us spin
                await self._sleep(self._backoff_min_s)
