"""The replica's own Prometheus metrics: model call time, batch size and batch queue wait.

Standard library only (the runtime runs inside users' environments): three fixed-bucket
histograms rendered in the Prometheus text format at the replica's ``GET /metrics``, labelled
with the deployment, model version and component the replica serves. The data plane records
every model call (with batching, one call per batch; its size is the number of requests in it)
and, with batching, how long each request waited for its batch's call to start.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Histogram:
    """Cumulative-bucket histogram of one metric (Prometheus semantics)."""

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name = name
        self.help = help_text
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def render(self, labels: str) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(float(bound))
            lines.append(f'{self.name}_bucket{{{labels},le="{le}"}} {running}')
        lines.append(f"{self.name}_sum{{{labels}}} {self.sum!r}")
        lines.append(f"{self.name}_count{{{labels}}} {self.count}")
        return lines


class ReplicaMetrics:
    """What one replica measures (see the module docstring)."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self._labels = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
        self.predict = Histogram(
            "shipyard_replica_predict_seconds", "Time of one model call.", _SECONDS
        )
        self.batch_size = Histogram(
            "shipyard_replica_batch_size", "Requests answered by one model call.", _SIZES
        )
        self.queue_wait = Histogram(
            "shipyard_replica_queue_wait_seconds",
            "Time a request waited for its batch's model call to start.",
            _SECONDS,
        )

    def model_call(self, requests: int, seconds: float) -> None:
        """One model call answering ``requests`` requests took ``seconds``."""
        self.predict.observe(seconds)
        self.batch_size.observe(requests)

    def waited(self, seconds: float) -> None:
        """One request waited ``seconds`` for its batch's call."""
        self.queue_wait.observe(seconds)

    def render(self) -> bytes:
        lines: list[str] = []
        for histogram in (self.predict, self.batch_size, self.queue_wait):
            lines += histogram.render(self._labels)
        return ("\n".join(lines) + "\n").encode()
