"""The long-lived parts of one gateway worker, built from its settings and run while it serves.

:meth:`shipyard.gateway.app.GatewayApp.running` enters :func:`open_services`, which opens the
pooled clients (the control plane, the replicas, the inference-log sinks), builds the parts the
request handlers use (:class:`Services`: the route sync, the forwarder and its bundler, the cold
starts, the model repository, the inference log) and runs the background tasks (the routing
table's long poll, the traffic reports, the inference log's delivery) until the server stops.
The handlers themselves stay in :mod:`~shipyard.gateway.app`; nothing here parses a request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from shipyard.gateway.bundling import Bundler
from shipyard.gateway.coldstart import ColdStarts
from shipyard.gateway.inferencelog import InferenceLog, SinkReporter
from shipyard.gateway.metrics import GatewayMetrics
from shipyard.gateway.picker import ReplicaPicker
from shipyard.gateway.proxy import Forwarder, route_ready
from shipyard.gateway.repository import Repository
from shipyard.gateway.sync import RouteSync
from shipyard.gateway.traffic import Traffic, TrafficReporter
from shipyard.gateway.upstream import Connect, RawUpstream
from shipyard.settings import GatewaySettings
from shipyard.wire.replica_token import ReplicaTokens
from shipyard.wire.routes import RoutingTable

_RECEIVER_ANSWER = 1024 * 1024
"""Largest answer read from an inference-log receiver (bytes)."""


@dataclass(frozen=True, slots=True)
class Services:
    """What the request handlers use while the gateway runs."""

    sync: RouteSync
    """Holds the routing table (``sync.table``: None until the control plane published one)."""
    forwarder: Forwarder
    bundler: Bundler
    cold: ColdStarts
    repository: Repository
    inference_log: InferenceLog


@dataclass(frozen=True, slots=True)
class AppState:
    """The handlers' own state the services report to or read (owned by the app)."""

    picker: ReplicaPicker
    metrics: GatewayMetrics
    traffic: Traffic
    on_table: Callable[[RoutingTable], None]
    """Called with each new routing table (before the requests held for a cold start look)."""
    changed: Callable[[], asyncio.Event]
    """The event set on the next new routing table."""


@contextlib.asynccontextmanager
async def open_services(
    settings: GatewaySettings,
    shared: AppState,
    *,
    transport: httpx.AsyncBaseTransport | None,
    connect: Connect,
) -> AsyncIterator[Services]:
    """Open the pooled clients, build the :class:`Services` and run their background tasks.

    Args:
        settings: the gateway's settings.
        shared: the app's state the services use.
        transport: replaces the network to the control plane (tests).
        connect: opens connections to replicas (tests pass an in-memory one).
    """
    s = settings
    control = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(s.gateway_poll_wait_s + 10.0, connect=5.0),
        trust_env=False,
    )
    replicas = RawUpstream(
        timeout_s=s.gateway_upstream_timeout_s,
        connect_timeout_s=min(5.0, s.gateway_upstream_timeout_s),
        max_answer=s.gateway_max_answer_bytes,
        connect=connect,
    )
    sinks = httpx.AsyncClient(timeout=httpx.Timeout(2.0), trust_env=False)
    receivers = RawUpstream(timeout_s=2.0, connect_timeout_s=2.0, max_answer=_RECEIVER_ANSWER)
    async with control, sinks:
        services = _build(s, shared, control, (sinks, receivers), replicas)
        services.sync.load_cache()
        reporter = TrafficReporter(
            control,
            shared.traffic,
            control_url=s.gateway_control_url,
            token=s.internal_token,
            interval_s=s.gateway_report_interval_s,
            gateway=s.gateway_worker_id,
        )
        tasks = [
            asyncio.create_task(services.sync.run(), name="shipyard-gateway-route-sync"),
            asyncio.create_task(reporter.run(), name="shipyard-gateway-traffic"),
            asyncio.create_task(services.inference_log.run(), name="shipyard-inference-log"),
        ]
        try:
            yield services
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.bundler.close()
            services.inference_log.close()
            await receivers.aclose()
            await replicas.aclose()


def _build(
    s: GatewaySettings,
    shared: AppState,
    control: httpx.AsyncClient,
    sinks: tuple[httpx.AsyncClient, RawUpstream],
    replicas: RawUpstream,
) -> Services:
    def applied(table: RoutingTable) -> None:
        shared.on_table(table)
        cold.table_changed()

    sync = RouteSync(
        control,
        control_url=s.gateway_control_url,
        token=s.internal_token,
        wait_s=s.gateway_poll_wait_s,
        on_table=applied,
        gateway=s.gateway_worker_id,
        cache=s.gateway_table_cache,
    )
    cold = ColdStarts(
        control,
        control_url=s.gateway_control_url,
        token=s.internal_token,
        table=lambda: sync.table,
        timeout_s=s.gateway_cold_start_timeout_s,
        ready=route_ready,
    )
    forwarder = Forwarder(
        replicas,
        shared.picker,
        shared.metrics,
        attempts=s.gateway_attempts,
        tokens=ReplicaTokens(s.internal_token) if s.internal_token else None,
    )
    repository = Repository(
        control,
        control_url=s.gateway_control_url,
        token=s.internal_token,
        table=lambda: sync.table,
        ready=route_ready,
        timeout_s=s.gateway_cold_start_timeout_s,
        changed=shared.changed,
    )
    inference_log = InferenceLog(
        sinks[0],
        raw=sinks[1],
        folder=s.gateway_inference_log_dir,
        capacity=s.gateway_inference_log_queue,
        count=shared.metrics.inference_log_event,
        health=SinkReporter(control, s.gateway_control_url, s.internal_token),
    )
    return Services(
        sync, forwarder, Bundler(forwarder.forward_bundle), cold, repository, inference_log
    )
