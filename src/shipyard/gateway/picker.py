"""The gateway's replica picker: the least busy ready replica, skipping recently failed ones.

The routing table itself is :class:`shipyard.wire.routes.RoutingTable` (immutable, swapped in
whole by :mod:`shipyard.gateway.sync`); this is the one mutable piece of routing. It is pure
logic with an injectable clock, so it is tested without sockets or sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from typing import Protocol


class Shared(Protocol):
    """Requests in flight counted by the other gateway workers (:mod:`.shared`)."""

    def lock(self) -> None:
        """Exclude the other workers' picks until :meth:`unlock`."""

    def unlock(self) -> None: ...

    def publish(self, url: str, count: int) -> None: ...

    def others(self, url: str) -> int: ...

    def eject(self, url: str, until: float) -> None: ...

    def ejected_until(self, url: str) -> float: ...


class ReplicaPicker:
    """Least-outstanding-requests choice of a replica, skipping recently failed replicas.

    Each pick goes to the candidate with the fewest requests in flight (counted from
    :meth:`pick` to :meth:`release`); ties go to the candidate earliest in the table's order.
    So concurrent requests spread over the replicas, a replica still busy with a slow request
    gets none of the next ones while another is free, and a lightly loaded deployment keeps its
    requests on one replica, whose code and data stay in the CPU caches (measured on a 2-core
    machine: about 15% lower latency one request at a time than alternating replicas).

    A replica whose connection failed is *ejected* for ``eject_s`` seconds: it is chosen again
    only when every other candidate is ejected too (then the one whose ejection ends first is
    tried, so a deployment whose replicas all blinked is not refused outright).

    With ``shared``, the requests the other gateway workers have in flight count too, a pick
    (read the counts, choose, publish the choice) holds the workers' shared lock, so two workers
    never both send to a replica each thinks idle, and an ejection holds for every worker (it is
    written before the failed request stops counting, so no worker sees a dying replica idle).
    """

    def __init__(
        self,
        *,
        eject_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        shared: Shared | None = None,
    ) -> None:
        self._eject_s = eject_s
        self._clock = clock
        self._shared = shared
        self._outstanding: dict[str, int] = {}
        self._ejected_until: dict[str, float] = {}

    def pick(self, urls: Sequence[str], exclude: Collection[str] = ()) -> str | None:
        """The replica to send the next request to; :meth:`release` it when the answer is in.

        Args:
            urls: the deployment's ready replicas, in table order.
            exclude: replicas already tried for this request.

        Returns:
            A replica URL (counted as busy until released), or None when every replica is
            excluded.
        """
        shared = self._shared
        if shared is None:
            return self._choose(urls, exclude)
        shared.lock()
        try:
            return self._choose(urls, exclude)
        finally:
            shared.unlock()

    def _choose(self, urls: Sequence[str], exclude: Collection[str]) -> str | None:
        outstanding = self._outstanding
        best: str | None = None
        best_load = 0
        ejected: dict[str, float] = {}
        shared = self._shared
        now = self._clock() if self._ejected_until or shared is not None else 0.0
        for url in urls:
            if url in exclude:
                continue
            until = self._ejected_until.get(url, 0.0)
            if shared is not None:
                until = max(until, shared.ejected_until(url))
            if until > now:
                ejected[url] = until
                continue
            load = outstanding.get(url, 0)
            if shared is not None:
                load += shared.others(url)
            if best is None or load < best_load:
                best, best_load = url, load
                if not load:
                    break
        if best is None and ejected:
            best = min(ejected, key=ejected.__getitem__)
        if best is not None:
            count = outstanding[best] = outstanding.get(best, 0) + 1
            if self._shared is not None:
                self._shared.publish(best, count)
        return best

    def release(self, url: str) -> None:
        """The request sent to ``url`` (a :meth:`pick` result) is over."""
        left = self._outstanding.get(url, 0) - 1
        if left > 0:
            self._outstanding[url] = left
        else:
            self._outstanding.pop(url, None)
        if self._shared is not None:
            self._shared.publish(url, left)

    def outstanding(self, url: str) -> int:
        """Requests sent to ``url`` and not released yet."""
        return self._outstanding.get(url, 0)

    def eject(self, url: str) -> None:
        """Mark ``url`` as failed: skip it for the next ``eject_s`` seconds."""
        now = self._clock()
        expired = [u for u, until in self._ejected_until.items() if until <= now]
        for u in expired:
            del self._ejected_until[u]
        until = self._ejected_until[url] = now + self._eject_s
        shared = self._shared
        if shared is not None:
            shared.lock()
            try:
                shared.eject(url, until)
            finally:
                shared.unlock()

    def is_ejected(self, url: str) -> bool:
        """Whether ``url`` failed within the last ``eject_s`` seconds (here or, with ``shared``,
        in another worker)."""
        until = self._ejected_until.get(url, 0.0)
        if self._shared is not None:
            until = max(until, self._shared.ejected_until(url))
        return until > self._clock()
