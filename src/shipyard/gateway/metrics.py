"""Prometheus metrics of one gateway, in its own registry (served at ``/metrics``).

Each :func:`shipyard.gateway.app.create_app` builds its own :class:`GatewayMetrics`, so several
gateways (tests) never share the process-global registry. Label values come from the routing
table only, never from the request, so an unknown name cannot grow the label sets.

When the server runs several gateway processes on one port, it starts them with
``PROMETHEUS_MULTIPROC_DIR`` set (prometheus_client's multiprocess mode: values live in files
there) and ``/metrics``, whichever process answers, renders all of them together: counters and
histograms summed, the table version the lowest among live processes.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class GatewayMetrics:
    """Request counts and latency per deployment, upstream failures, the applied table version."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        """Create the metrics in a registry of their own.

        Args:
            multiprocess_dir: the ``PROMETHEUS_MULTIPROC_DIR`` all gateway processes write to
                (set in their environment before they start), or None for one process.
        """
        self._multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "shipyard_gateway_requests",
            "Inference requests answered, by deployment and HTTP status code.",
            ["project", "deployment", "code"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "shipyard_gateway_request_duration_seconds",
            "Time from receiving an inference request to answering it.",
            ["project", "deployment"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._upstream_failures = Counter(
            "shipyard_gateway_upstream_failures",
            "Connections to replicas that failed before an answer (each is retried elsewhere).",
            ["project", "deployment"],
            registry=self.registry,
        )
        self._inference_log = Counter(
            "shipyard_gateway_inference_log_events",
            "Inference log events by outcome: delivered, failed (sink down) or dropped (queue "
            "full).",
            ["project", "deployment", "outcome"],
            registry=self.registry,
        )
        self._table_version = Gauge(
            "shipyard_gateway_routing_table_version",
            "Version of the routing table in use (-1 until the first one arrives).",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self._table_version.set(-1)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, project: str, deployment: str, code: int, seconds: float) -> None:
        """Count one answered request (``project``/``deployment`` empty when unresolved)."""
        key = (project, deployment, code)
        children = self._children.get(key)
        if children is None:  # label lookups cost more than the update: once per label set
            children = (
                self._requests.labels(project, deployment, str(code)),
                self._latency.labels(project, deployment),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def upstream_failed(self, project: str, deployment: str) -> None:
        self._upstream_failures.labels(project, deployment).inc()

    def inference_log_event(self, project: str, deployment: str, outcome: str) -> None:
        self._inference_log.labels(project, deployment, outcome).inc()

    def table_applied(self, version: int) -> None:
        self._table_version.set(version)

    def render(self) -> bytes:
        """The Prometheus text exposition of this gateway's metrics (all its processes')."""
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self._multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(registry)
