"""Holding requests for a deployment at zero instances until a replica is ready.

A request for a deployment whose route is *wakeable* (scale-to-zero) and has no ready replica
is held: the gateway asks the control plane for a replica (``POST /internal/wake``, at most once
a second per deployment, however many requests wait), then waits for a routing table that has
one, up to the cold-start timeout. Every held request of the deployment waits for that same
replica; none is answered with an error while it starts. Each held request's answer carries
the seconds it waited in ``Shipyard-Cold-Start-Wait-S`` (set by ``gateway.app``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import httpx

from shipyard.errors import NotFound, NotReady
from shipyard.wire.routes import DeploymentKey, DeploymentRoute, RoutingTable

logger = logging.getLogger(__name__)

WAKE_EVERY_S = 1.0
COLD_START_WAIT_HEADER = b"shipyard-cold-start-wait-s"
"""Response header of a request held while its deployment woke: seconds it waited."""


class ColdStarts:
    """Wakes deployments at zero and lets held requests wait for their first replica."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        control_url: str,
        token: str,
        table: Callable[[], RoutingTable | None],
        timeout_s: float,
        ready: Callable[[DeploymentRoute], bool],
    ) -> None:
        self._client = client
        self._url = control_url.rstrip("/") + "/internal/wake"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._table = table
        self._timeout_s = timeout_s
        self._ready = ready
        self._changed = asyncio.Event()
        self._woken_at: dict[DeploymentKey, float] = {}
        self._waking: set[asyncio.Task[None]] = set()
        self._unreachable: dict[DeploymentKey, str] = {}
        """Deployments whose last wake could not reach the control plane (and why)."""

    def table_changed(self) -> None:
        """Called with each new routing table: wakes every waiter to look again."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_replica(self, route: DeploymentRoute) -> DeploymentRoute:
        """The route of ``route``'s deployment once it has a ready replica.

        Raises:
            NotFound: The deployment disappeared meanwhile.
            NotReady: It stopped being wakeable, or no replica was ready in time.
        """
        deadline = time.monotonic() + self._timeout_s
        key = route.key
        while True:
            table = self._table()
            current = table.route(*key) if table is not None else route
            if current is None:
                raise NotFound(f"deployment '{route.name}' not found")
            if self._ready(current):
                return current
            if not current.wakeable:
                detail = f" ({current.message})" if current.message else ""
                raise NotReady(
                    f"deployment '{current.name}' is not available: state {current.state}{detail}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotReady(
                    f"deployment '{route.name}' did not get a ready replica within "
                    f"{self._timeout_s:g} s of a cold start (state {current.state}); "
                    "try again, or raise SHIPYARD_GATEWAY_COLD_START_TIMEOUT_S"
                )
            self._wake(key)
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, WAKE_EVERY_S))
            cause = self._unreachable.get(key)
            if cause is not None:  # nobody can start a replica now: never hold in vain
                raise NotReady(
                    f"deployment '{route.name}' is scaled to zero and the control plane, which "
                    f"starts its replicas, cannot be reached ({cause}); retry shortly"
                )

    def _wake(self, key: DeploymentKey) -> None:
        now = time.monotonic()
        if now - self._woken_at.get(key, float("-inf")) < WAKE_EVERY_S:
            return
        self._woken_at[key] = now
        task = asyncio.get_running_loop().create_task(self._post(key))
        self._waking.add(task)
        task.add_done_callback(self._waking.discard)

    async def _post(self, key: DeploymentKey) -> None:
        body = {"project_id": key[0], "name": key[1]}
        try:
            response = await self._client.post(self._url, json=body, headers=self._headers)
            response.raise_for_status()
        except httpx.TransportError as exc:  # the control plane is down: held requests fail
            self._unreachable[key] = type(exc).__name__
            self.table_changed()  # the held requests look again, and give up
            logger.warning("waking deployment %r failed: %r", key[1], exc)
        except httpx.HTTPError as exc:  # the held request retries the wake a second later
            logger.warning("waking deployment %r failed: %r", key[1], exc)
        else:
            self._unreachable.pop(key, None)
