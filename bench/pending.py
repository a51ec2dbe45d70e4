"""Measurements issue 7 asks for that the bench does not make yet: the hooks where they go.

Each function returns :class:`NotMeasured` and is called by the runner; the report prints its
reason in the results and the targets table. To measure it, replace the function with the
measurement, as was done for batching (the ``shipyard+batching`` target), the first response
from zero instances (``bench/shipyard_timing.py``) and environment builds (``bench/envbuild.py``).
Nothing is pending now: :func:`all_pending` returns an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotMeasured:
    """A row of RESULTS.md that has no number yet."""

    item: str
    reason: str


def all_pending() -> list[NotMeasured]:
    """Every measurement the bench does not make yet (none left: environment builds are
    ``bench/envbuild.py``)."""
    return []
