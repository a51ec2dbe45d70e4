"""Prometheus metrics of the control plane: per-replica usage against requests and limits.

Read at scrape time from the controller's last statuses (no work on the reconcile loop); served
at ``GET /metrics`` to administrator keys (``Authorization: Bearer <key>`` as Prometheus sends).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from shipyard.controller.coldstart import BUCKETS, ColdStarts
from shipyard.controller.reconcile import Controller

MIB = 1024 * 1024
_LABELS = ["project", "deployment", "component", "replica"]


class ControllerCollector(Collector):
    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def collect(
        self,
    ) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        gauges = {
            "cpu": GaugeMetricFamily(
                "shipyard_replica_cpu_cores", "CPU cores used", labels=_LABELS
            ),
            "mem": GaugeMetricFamily(
                "shipyard_replica_memory_bytes", "Resident memory", labels=_LABELS
            ),
            "peak": GaugeMetricFamily(
                "shipyard_replica_memory_peak_bytes", "Peak resident memory", labels=_LABELS
            ),
            "cpu_req": GaugeMetricFamily(
                "shipyard_replica_cpu_request_cores", "Requested cores", labels=_LABELS
            ),
            "cpu_lim": GaugeMetricFamily(
                "shipyard_replica_cpu_limit_cores", "Core limit", labels=_LABELS
            ),
            "mem_req": GaugeMetricFamily(
                "shipyard_replica_memory_request_bytes", "Requested memory", labels=_LABELS
            ),
            "mem_lim": GaugeMetricFamily(
                "shipyard_replica_memory_limit_bytes", "Memory limit", labels=_LABELS
            ),
        }
        restarts = CounterMetricFamily(
            "shipyard_replica_restarts", "Restarts of the replica's slot", labels=_LABELS
        )
        ready = GaugeMetricFamily(
            "shipyard_deployment_ready_instances", "Ready instances", labels=_LABELS[:3]
        )
        for project, name, status in self._controller.snapshot():
            for component, count in status.available_instances.items():
                ready.add_metric([project, name, component], count)
            for replica in status.replicas:
                labels = [project, name, replica.component, replica.id]
                restarts.add_metric(labels, replica.restarts)
                usage = replica.usage
                if usage is None:
                    continue
                values = {
                    "cpu": usage.cpu_cores,
                    "mem": usage.memory_mb * MIB if usage.memory_mb is not None else None,
                    "peak": usage.memory_peak_mb * MIB
                    if usage.memory_peak_mb is not None
                    else None,
                    "cpu_req": usage.requests.cores if usage.requests else None,
                    "cpu_lim": usage.limits.cores if usage.limits else None,
                    "mem_req": usage.requests.memory * MIB if usage.requests else None,
                    "mem_lim": usage.limits.memory * MIB if usage.limits else None,
                }
                for key, value in values.items():
                    if value is not None:
                        gauges[key].add_metric(labels, value)
        yield from gauges.values()
        yield restarts
        yield ready
        yield start_phases(self._controller.cold_starts)
        yield CounterMetricFamily(
            "shipyard_reconcile_passes", "Reconciler passes", value=self._controller.passes
        )


def metrics_registry(controller: Controller) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ControllerCollector(controller))
    registry.register(controller.pass_seconds)
    registry.register(controller.errors)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def start_phases(cold: ColdStarts) -> HistogramMetricFamily:
    """Seconds spent in each phase of a replica start (``controller.coldstart``), all
    deployments together (per-deployment breakdowns are in ``/deployments/{name}/coldstarts``)."""
    family = HistogramMetricFamily(
        "shipyard_replica_start_phase_seconds",
        "Seconds a replica start spent per phase (environment, capacity, spawn, load)",
        labels=["phase"],
    )
    for phase, histogram in cold.histogram.items():
        buckets = [
            (str(bound), float(n)) for bound, n in zip(BUCKETS, histogram.counts, strict=True)
        ]
        buckets.append(("+Inf", float(histogram.total)))
        family.add_metric([phase], buckets, histogram.sum_s)
    return family
