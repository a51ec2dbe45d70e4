"""The controller's one clock: monotonic seconds for every policy, and wall time derived from it.

Every timing rule of the controller (backoffs, start timeouts, autoscaling windows, fast passes,
ready times) reads the same injected monotonic clock, so a test drives them all with one fake.
Wall-clock figures (a replica's ``ready_at``, the age of an adopted replica) are that clock plus
the offset measured once at construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """Monotonic seconds (``clock()``), and wall seconds on the same time base (``wall()``)."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._monotonic = monotonic
        self._offset = wall() - monotonic()

    def __call__(self) -> float:
        return self._monotonic()

    def wall(self) -> float:
        return self._offset + self._monotonic()

    def to_wall(self, monotonic: float) -> datetime:
        """A monotonic reading of this clock as a UTC time."""
        return datetime.fromtimestamp(self._offset + monotonic, UTC)

    def to_monotonic(self, wall: float) -> float:
        """A wall-clock time (e.g. when a replica started, from its handle) on this clock."""
        return wall - self._offset
