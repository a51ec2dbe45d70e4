"""Downsampled usage: fixed-width buckets of a replica's samples with min, mean and max.

Layer: ``shipyard.api`` (pure, no I/O). ``api.usage_history`` keeps every sample of the last
hour and, beyond it, one ``UsageBucket`` per replica and ``BUCKET_S`` seconds, built by a
``BucketBuilder`` as samples arrive: a day of history costs 1,440 buckets per replica instead
of 43,200 samples. Buckets are aligned on multiples of their width (``at`` is the start).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BUCKET_S = 60.0


@dataclass(frozen=True)
class UsageSample:
    """One measurement of one replica; ``at`` in seconds since the epoch, cores, MiB."""

    at: float
    cpu_cores: float | None
    memory_mb: float | None
    memory_peak_mb: float | None
    cpu_throttled: float | None = None  # share of CPU periods the limit stopped it


@dataclass(frozen=True)
class Spread:
    """Minimum, mean and maximum of one measure over a bucket (None: never measured)."""

    min: float
    mean: float
    max: float


@dataclass(frozen=True)
class UsageBucket:
    """The samples of one replica from ``at`` to ``at + span_s``, summarised."""

    at: float
    span_s: float
    count: int
    cpu_cores: Spread | None
    memory_mb: Spread | None
    memory_peak_mb: float | None
    cpu_throttled: float | None = None  # mean share of throttled CPU periods


def spread(values: Iterable[float | None]) -> Spread | None:
    """The min, mean and max of the measured values, or None when none was measured."""
    seen = [v for v in values if v is not None]
    if not seen:
        return None
    return Spread(min(seen), sum(seen) / len(seen), max(seen))


def summarise(at: float, span_s: float, samples: list[UsageSample]) -> UsageBucket:
    """One bucket from ``samples`` (all taken in ``[at, at + span_s)``)."""
    peaks = [s.memory_peak_mb for s in samples if s.memory_peak_mb is not None]
    throttled = spread(s.cpu_throttled for s in samples)
    return UsageBucket(
        at=at,
        span_s=span_s,
        count=len(samples),
        cpu_cores=spread(s.cpu_cores for s in samples),
        memory_mb=spread(s.memory_mb for s in samples),
        memory_peak_mb=max(peaks) if peaks else None,
        cpu_throttled=throttled.mean if throttled else None,
    )


class BucketBuilder:
    """Collects one replica's samples and hands back each bucket once its time has passed."""

    def __init__(self, span_s: float = BUCKET_S) -> None:
        if span_s <= 0:
            raise ValueError("need span_s > 0")
        self.span_s = span_s
        self._start: float | None = None
        self._open: list[UsageSample] = []

    def add(self, sample: UsageSample) -> UsageBucket | None:
        """Add ``sample``; returns the previous bucket if this sample starts a new one."""
        start = sample.at - sample.at % self.span_s
        closed = None
        if self._start is not None and start != self._start and self._open:
            closed = summarise(self._start, self.span_s, self._open)
            self._open = []
        self._start = start
        self._open.append(sample)
        return closed

    def pending(self) -> UsageBucket | None:
        """The bucket still being filled, summarised so far (None when empty)."""
        if self._start is None or not self._open:
            return None
        return summarise(self._start, self.span_s, self._open)
