"""Bundles: concurrent model calls of a deployment leave for one replica as one request.

:meth:`Bundler.submit` gathers the model calls that arrive together and hands them to ``send``
as one list, which the forwarder sends to one replica as one ``POST /internal/bundle``
(:mod:`shipyard.wire.bundle`); the replica answers each part as if it came alone. One exchange
per bundle instead of one per request saves both processes a write, a read and a parse per call.

With adaptive batching on (the route's ``max_batch_size``), the replica's batcher merges the
parts into model calls, and the policy mirrors that batcher, counted in requests instead of rows:

- a request that finds fewer bundles in flight than the deployment has ready replicas opens a
  bundle that leaves on the loop's next turn (what was read in the same turn joins it);
- otherwise the open bundle leaves when a bundle in flight comes back, when it holds
  ``max_batch_size`` requests, or ``max_latency_s`` after it opened, whichever comes first.

With batching off, nothing waits: a request to a deployment with nothing in flight goes alone at
once (no bundle, no extra loop turn), and the calls read in one turn leave on the next, split
evenly across the replicas that are free (at most :data:`MAX_COALESCED` per bundle), so
replicas still predict in parallel. Either way a bundle leaves once its bodies reach
:data:`MAX_BUNDLE_BYTES`, and a request that large goes alone.

The gathering itself is :class:`shipyard.wire.coalescer.Coalescer`, the state machine the
replica's batcher uses too (one per deployment here, created on first use and dropped when idle);
this module only sets its policy from the route. Pure asyncio with the sending injected:
unit-tested with a fake ``send`` and no sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shipyard.errors import BackendUnavailable
from shipyard.http1 import Request, Response
from shipyard.wire.coalescer import Coalescer
from shipyard.wire.routes import DeploymentKey, DeploymentRoute

MAX_COALESCED = 8
"""Most requests in one bundle when batching is off."""

MAX_BUNDLE_BYTES = 1 << 20
"""A bundle leaves once its bodies reach this size; a bigger request goes alone (large bodies
gain nothing from sharing an exchange, and many together could pass a replica's body limit)."""

SendBundle = Callable[[DeploymentRoute, list[Request]], Awaitable[list[Response]]]
"""Sends requests of one deployment together; one answer per request, in order."""

_Item = tuple[DeploymentRoute, Request]


class Bundler:
    """Gathers concurrent model calls per deployment into bundles (see the module docstring)."""

    def __init__(self, send: SendBundle) -> None:
        self._send = send
        self._lanes: dict[DeploymentKey, Coalescer[_Item, Response]] = {}

    def in_flight(self, key: DeploymentKey) -> int:
        """Bundles of ``key`` sent and not answered yet."""
        lane = self._lanes.get(key)
        return lane.in_flight if lane is not None else 0

    async def submit(self, route: DeploymentRoute, request: Request) -> Response:
        """The answer to ``request``, sent to a replica of ``route`` within a bundle.

        Raises:
            ShipyardError: what sending its bundle raised (every request of it gets the error).
        """
        key = route.key
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = self._lane()
        batching = route.max_batch_size > 1
        lane.max_items = route.max_batch_size if batching else MAX_COALESCED
        lane.max_weight = MAX_BUNDLE_BYTES
        lane.max_wait_s = route.max_latency_s if batching else 0.0
        lane.capacity = max(1, len(route.predictor))
        lane.spread = not batching  # no batching: keep the free replicas predicting
        try:
            if (not batching and lane.idle) or len(request.body) >= MAX_BUNDLE_BYTES:
                answers = await lane.counted(self._checked([(route, request)]))
                return answers[0]
            return await lane.submit((route, request), weight=len(request.body))
        finally:
            if lane.idle and self._lanes.get(key) is lane:
                del self._lanes[key]

    def _lane(self) -> Coalescer[_Item, Response]:
        return Coalescer(self._checked, max_items=1, max_weight=1, max_wait_s=0.0, spread=True)

    async def _checked(self, items: list[_Item]) -> list[Response]:
        route = items[-1][0]  # the newest table's replicas
        answers = await self._send(route, [request for _, request in items])
        if len(answers) != len(items):
            raise BackendUnavailable(
                f"deployment '{route.name}': {len(answers)} answers came back for a bundle of "
                f"{len(items)} requests"
            )
        return answers

    async def close(self) -> None:
        """Send what is open and wait for the bundles in flight (at shutdown)."""
        for lane in list(self._lanes.values()):
            await lane.close()
