"""One coalescing state machine for both hops: items that arrive together leave together.

The gateway's bundler (:mod:`shipyard.gateway.bundling`: model calls of one deployment, one
exchange per bundle) and the replica's batcher (:mod:`shipyard.runtime.batching`: rows of one
model, one model call per batch) follow the same policy, written once here:

- an item that finds fewer groups in flight than there is capacity (replicas, or one model) opens
  a group that leaves on the loop's next turn, so what was read in the same turn joins it and a
  lone item waits for nothing;
- otherwise the open group leaves when a group in flight comes back and capacity is free, when it
  holds ``max_items`` items or ``max_weight`` weight (rows, bytes), or ``max_wait_s`` after it
  opened, whichever comes first;
- with ``spread``, a group leaving while several units of capacity are free is split evenly
  among them, so they work in parallel;
- with ``timeout_s``, a group whose answer takes longer fails all its items with the error
  ``expired()`` builds (one timer per group).

Items of different ``group`` keys (payload shapes that cannot share a call) never share a group.
``send`` gets the items of one group and returns one result per item, in order; if it raises,
every item of the group gets that error. Pure asyncio, no I/O: tested with fake senders.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
X = TypeVar("X")


@dataclass(slots=True)
class _Group(Generic[T, R]):
    items: list[T] = field(default_factory=list)
    futures: list[asyncio.Future[R]] = field(default_factory=list)
    weight: int = 0
    timer: asyncio.Handle | None = None
    expiry: asyncio.TimerHandle | None = None


class Coalescer(Generic[T, R]):
    """Gathers concurrent items into groups for ``send`` (see the module docstring).

    Args:
        send: sends one group; one result per item, in order.
        max_items: a group leaves once it holds this many items.
        max_weight: ... or once its items weigh this much.
        max_wait_s: longest a group waits for capacity to free up.
        capacity: groups that may be in flight before new ones wait (settable).
        spread: split a leaving group among the free capacity.
        timeout_s: fail a group not answered this long after it opened (0: never).
        expired: the error such a group's items get.
    """

    def __init__(
        self,
        send: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_items: int,
        max_weight: int,
        max_wait_s: float,
        capacity: int = 1,
        spread: bool = False,
        timeout_s: float = 0.0,
        expired: Callable[[], BaseException] = TimeoutError,
    ) -> None:
        self._send = send
        self.max_items = max(1, max_items)
        self.max_weight = max(1, max_weight)
        self.max_wait_s = max(0.0, max_wait_s)
        self.capacity = max(1, capacity)
        self.spread = spread
        self._timeout_s = timeout_s
        self._expired = expired
        self._open: dict[Hashable, _Group[T, R]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        """Groups (and counted calls) sent and not answered yet."""

    @property
    def idle(self) -> bool:
        """Nothing open and nothing in flight."""
        return not self._open and not self.in_flight

    async def submit(self, item: T, *, weight: int = 1, group: Hashable = None) -> R:
        """The result for ``item``, sent within a group of items of the same ``group`` key."""
        loop = asyncio.get_running_loop()
        opened = self._open.get(group)
        if opened is None:
            opened = self._open[group] = _Group()
            if self.in_flight < self.capacity:  # free: only what arrives in this turn joins
                opened.timer = loop.call_soon(self._close_if, group, opened)
            else:
                opened.timer = loop.call_later(self.max_wait_s, self._close_if, group, opened)
            if self._timeout_s > 0:
                opened.expiry = loop.call_later(self._timeout_s, self._expire, opened)
        future: asyncio.Future[R] = loop.create_future()
        opened.items.append(item)
        opened.futures.append(future)
        opened.weight += weight
        if len(opened.items) >= self.max_items or opened.weight >= self.max_weight:
            self._close(group)
        return await future

    async def counted(self, call: Awaitable[X]) -> X:
        """Await ``call`` (sent outside any group) counted as in flight meanwhile."""
        self.in_flight += 1
        try:
            return await call
        finally:
            self._done()

    def _close_if(self, group: Hashable, opened: _Group[T, R]) -> None:
        if self._open.get(group) is opened:
            self._close(group)

    def _close(self, group: Hashable) -> None:
        opened = self._open.pop(group, None)
        if opened is None:
            return
        if opened.timer is not None:
            opened.timer.cancel()
        count = len(opened.items)
        shares = 1
        if self.spread:
            shares = min(count, max(1, self.capacity - self.in_flight))
        loop = asyncio.get_running_loop()
        for share in range(shares):
            start, end = share * count // shares, (share + 1) * count // shares
            part = _Group[T, R](opened.items[start:end], opened.futures[start:end])
            part.expiry = opened.expiry if shares == 1 else None  # split: the timer runs out alone
            self.in_flight += 1
            task = loop.create_task(self._run(part))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _expire(self, opened: _Group[T, R]) -> None:
        for future in opened.futures:
            if not future.done():
                future.set_exception(self._expired())

    async def _run(self, part: _Group[T, R]) -> None:
        try:
            results = await self._send(part.items)
            if len(results) != len(part.futures):
                raise RuntimeError(f"{len(results)} results for {len(part.futures)} items")
        except BaseException as exc:
            for future in part.futures:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for future, result in zip(part.futures, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            if part.expiry is not None:
                part.expiry.cancel()
            self._done()

    def _done(self) -> None:
        self.in_flight -= 1
        if self.in_flight < self.capacity:
            for group in list(self._open):  # capacity is free: send what gathered meanwhile
                self._close(group)

    async def close(self) -> None:
        """Send what is open and wait for the groups in flight (at shutdown)."""
        for group in list(self._open):
            self._close(group)
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
