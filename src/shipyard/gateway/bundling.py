"""Bundles: concurrent model calls of a deployment leave for one replica as one request.

:meth:`Bundler.submit` gathers the model calls that arrive together and hands them to ``send``
as one list, which the forwarder sends to one replica as one ``POST /internal/bundle``
(:mod:`shipyard.http1.bundle`); the replica answers each part as if it came alone. One exchange
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

Pure asyncio with the sending injected: unit-tested with a fake ``send`` and no sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shipyard.errors import BackendUnavailable
from shipyard.gateway.table import DeploymentKey, DeploymentRoute
from shipyard.http1 import Request, Response

MAX_COALESCED = 8
"""Most requests in one bundle when batching is off."""

MAX_BUNDLE_BYTES = 1 << 20
"""A bundle leaves once its bodies reach this size; a bigger request goes alone (large bodies
gain nothing from sharing an exchange, and many together could pass a replica's body limit)."""

SendBundle = Callable[[DeploymentRoute, list[Request]], Awaitable[list[Response]]]
"""Sends requests of one deployment together; one answer per request, in order."""


@dataclass(slots=True)
class _Open:
    route: DeploymentRoute
    requests: list[Request] = field(default_factory=list)
    futures: list[asyncio.Future[Response]] = field(default_factory=list)
    timer: asyncio.Handle | None = None
    size: int = 0
    """Bytes of the requests' bodies."""


class Bundler:
    """Gathers concurrent model calls per deployment into bundles (see the module docstring)."""

    def __init__(self, send: SendBundle) -> None:
        self._send = send
        self._open: dict[DeploymentKey, _Open] = {}
        self._in_flight: dict[DeploymentKey, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def in_flight(self, key: DeploymentKey) -> int:
        """Bundles of ``key`` sent and not answered yet."""
        return self._in_flight.get(key, 0)

    async def submit(self, route: DeploymentRoute, request: Request) -> Response:
        """The answer to ``request``, sent to a replica of ``route`` within a bundle.

        Raises:
            ShipyardError: what sending its bundle raised (every request of it gets the error).
        """
        key = route.key
        batching = route.max_batch_size > 1
        idle = key not in self._open and key not in self._in_flight
        if (not batching and idle) or len(request.body) >= MAX_BUNDLE_BYTES:
            return await self._alone(route, request)
        loop = asyncio.get_running_loop()
        bundle = self._open.get(key)
        if bundle is None:
            bundle = self._open[key] = _Open(route)
            if not batching or self.in_flight(key) < max(1, len(route.predictor)):
                bundle.timer = loop.call_soon(self._close_if, key, bundle)
            else:
                bundle.timer = loop.call_later(route.max_latency_s, self._close_if, key, bundle)
        else:
            bundle.route = route  # the newest table's replicas
        future: asyncio.Future[Response] = loop.create_future()
        bundle.requests.append(request)
        bundle.futures.append(future)
        bundle.size += len(request.body)
        full = len(bundle.requests) >= (route.max_batch_size if batching else MAX_COALESCED)
        if full or bundle.size >= MAX_BUNDLE_BYTES:
            self._close(key)
        return await future

    async def _alone(self, route: DeploymentRoute, request: Request) -> Response:
        key = route.key
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            answers = await self._send(route, [request])
        finally:
            self._finished(key)
        if len(answers) != 1:
            raise _miscount(route, len(answers), 1)
        return answers[0]

    def _close_if(self, key: DeploymentKey, bundle: _Open) -> None:
        if self._open.get(key) is bundle:
            self._close(key)

    def _close(self, key: DeploymentKey) -> None:
        bundle = self._open.pop(key, None)
        if bundle is None:
            return
        if bundle.timer is not None:
            bundle.timer.cancel()
        route, count = bundle.route, len(bundle.requests)
        shares = 1
        if route.max_batch_size <= 1:  # no batching: keep the free replicas predicting
            shares = min(count, max(1, len(route.predictor) - self.in_flight(key)))
        for share in range(shares):
            start, end = share * count // shares, (share + 1) * count // shares
            part = _Open(route, bundle.requests[start:end], bundle.futures[start:end])
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            task = asyncio.get_running_loop().create_task(self._run(key, part))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, key: DeploymentKey, bundle: _Open) -> None:
        try:
            answers = await self._send(bundle.route, bundle.requests)
            if len(answers) != len(bundle.futures):
                raise _miscount(bundle.route, len(answers), len(bundle.futures))
        except BaseException as exc:
            for future in bundle.futures:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for future, answer in zip(bundle.futures, answers, strict=False):
                if not future.done():
                    future.set_result(answer)
        finally:
            self._finished(key)

    def _finished(self, key: DeploymentKey) -> None:
        left = self._in_flight[key] - 1
        if left:
            self._in_flight[key] = left
        else:
            del self._in_flight[key]
        if key in self._open:
            self._close(key)  # a replica is free: send what gathered meanwhile

    async def close(self) -> None:
        """Send what is open and wait for the bundles in flight (at shutdown)."""
        for key in list(self._open):
            self._close(key)
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _miscount(route: DeploymentRoute, answers: int, requests: int) -> BackendUnavailable:
    return BackendUnavailable(
        f"deployment '{route.name}': {answers} answers came back for a bundle of "
        f"{requests} requests"
    )
