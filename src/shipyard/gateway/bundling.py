"""Adaptive batching in the gateway: concurrent model calls of a deployment leave as one bundle.

For a deployment with batching on, :meth:`Bundler.submit` gathers the model calls that arrive
together and hands them to ``send`` as one list, which the forwarder sends to one replica as one
``POST /internal/bundle`` (:mod:`shipyard.http1.bundle`); the replica answers each part as if it
came alone and its own batcher merges them into model calls. The policy mirrors the replica's
batcher, counted in requests instead of rows:

- a request that finds fewer bundles in flight than the deployment has ready replicas opens a
  bundle that leaves on the loop's next turn (what was read in the same turn joins it; a lone
  request waits for nothing);
- otherwise the open bundle leaves when a bundle in flight comes back, when it holds
  ``max_batch_size`` requests, or ``max_latency_s`` after it opened, whichever comes first.

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

SendBundle = Callable[[DeploymentRoute, list[Request]], Awaitable[list[Response]]]
"""Sends requests of one deployment together; one answer per request, in order."""


@dataclass(slots=True)
class _Open:
    route: DeploymentRoute
    requests: list[Request] = field(default_factory=list)
    futures: list[asyncio.Future[Response]] = field(default_factory=list)
    timer: asyncio.Handle | None = None


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
        loop = asyncio.get_running_loop()
        bundle = self._open.get(key)
        if bundle is None:
            bundle = self._open[key] = _Open(route)
            if self.in_flight(key) < max(1, len(route.predictor)):
                bundle.timer = loop.call_soon(self._close_if, key, bundle)
            else:
                bundle.timer = loop.call_later(route.max_latency_s, self._close_if, key, bundle)
        else:
            bundle.route = route  # the newest table's replicas
        future: asyncio.Future[Response] = loop.create_future()
        bundle.requests.append(request)
        bundle.futures.append(future)
        if len(bundle.requests) >= route.max_batch_size:
            self._close(key)
        return await future

    def _close_if(self, key: DeploymentKey, bundle: _Open) -> None:
        if self._open.get(key) is bundle:
            self._close(key)

    def _close(self, key: DeploymentKey) -> None:
        bundle = self._open.pop(key, None)
        if bundle is None:
            return
        if bundle.timer is not None:
            bundle.timer.cancel()
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        task = asyncio.get_running_loop().create_task(self._run(key, bundle))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: DeploymentKey, bundle: _Open) -> None:
        try:
            answers = await self._send(bundle.route, bundle.requests)
            if len(answers) != len(bundle.futures):
                raise BackendUnavailable(
                    f"deployment '{bundle.route.name}': {len(answers)} answers came back for "
                    f"a bundle of {len(bundle.futures)} requests"
                )
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
