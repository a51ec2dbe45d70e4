"""The gateway's request handler: KServe V1 and Open Inference Protocol V2 in front of replicas.

``create_app(settings)`` is the factory used by ``python -m shipyard.gateway``
(:mod:`shipyard.gateway.__main__`), which serves :meth:`GatewayApp.handle` with the lean
:mod:`shipyard.http1` server; nothing here runs at import. Per request the handlers match the
path (the table of :mod:`shipyard.wire.paths`), authenticate the key against the routing table
kept by :mod:`~shipyard.gateway.sync`, resolve the deployment within the key's project and hand the
request to :mod:`~shipyard.gateway.proxy`. The forwarder and the other long-lived parts are built
and run by :mod:`~shipyard.gateway.services` while :meth:`GatewayApp.running` is entered.
:meth:`GatewayApp.admit` does the same checks on the request head alone, before any body is read
(auth first: a caller without a valid key never gets a byte buffered), and sets the body bound
of the deployment. Errors are ``ShipyardError`` subclasses mapped to ``{"error": "<message>"}``
with the class's status in one place (:func:`_error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import time
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx

from shipyard.errors import (
    InvalidInput,
    NotFound,
    NotReady,
    PayloadTooLarge,
    ShipyardError,
    Unauthorized,
)
from shipyard.gateway import repository
from shipyard.gateway.coldstart import COLD_START_WAIT_HEADER
from shipyard.gateway.inferencelog import InferenceLog
from shipyard.gateway.metrics import CONTENT_TYPE, GatewayMetrics
from shipyard.gateway.picker import ReplicaPicker
from shipyard.gateway.proxy import request_headers, route_ready
from shipyard.gateway.services import AppState, Services, open_services
from shipyard.gateway.shared import SharedLoad
from shipyard.gateway.traffic import Traffic
from shipyard.gateway.upstream import Connect, connect_socket
from shipyard.http1 import Head, Request, Response, error_response, json_response
from shipyard.settings import GatewaySettings
from shipyard.wire import paths
from shipyard.wire.keys import UNAUTHORIZED_MESSAGE, KeyHasher, parse_api_key
from shipyard.wire.paths import Action, Call
from shipyard.wire.routes import DeploymentRoute, RoutingTable


def _unavailable(route: DeploymentRoute) -> NotReady:
    detail = f" ({route.message})" if route.message else ""
    return NotReady(f"deployment '{route.name}' is not available: state {route.state}{detail}")


def _bundled(route: DeploymentRoute, request: Request) -> bool:
    """Whether a model call goes through the gateway's bundles (see :mod:`.bundling`)."""
    return request.method == "POST" and not route.has_transformer


def _package_version() -> str:
    try:
        return version("shipyard")
    except PackageNotFoundError:
        return "0+unknown"


class GatewayApp:
    """The handlers of one gateway and the state they share (no module globals)."""

    def __init__(
        self,
        settings: GatewaySettings,
        transport: httpx.AsyncBaseTransport | None,
        connect: Connect,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._connect = connect
        self._picker = ReplicaPicker(shared=_shared_load(settings))
        self._keys = KeyHasher()
        self._metrics = GatewayMetrics(settings.metrics_dir)
        self._server_version = _package_version()
        self._services: Services | None = None
        self.inference_log: InferenceLog | None = None
        self._table_event = asyncio.Event()
        """Set (and replaced) on each new routing table."""
        self.traffic = Traffic()
        self.table_ready = asyncio.Event()
        """Set once a routing table published by the control plane is held."""
        self._server = {
            Action.LIVE: self.live,
            Action.SERVER_READY: self.ready,
            Action.SERVER_METADATA: self.server_metadata,
        }

    async def handle(self, request: Request) -> Response:
        """Answer one request: a model call, a health or metadata endpoint, or a 404/405."""
        path = request.path
        call = paths.match(request.method, path)
        if call is None and path == "/metrics":
            if request.method not in ("GET", "HEAD"):
                return error_response(405, "Method Not Allowed")
            return await self.metrics(request)
        if isinstance(call, paths.WrongMethod):
            return error_response(405, "Method Not Allowed")
        if call is not None and call.protocol == "server":
            return await self._server[call.action](request)
        if call is None and (repo := repository.match(path)) is not None:
            if request.method != "POST":
                return error_response(405, "Method Not Allowed")
            try:
                return await self._repository_call(request, *repo)
            except ShipyardError as exc:
                return _error(exc)
        return await self._model(request, call)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the pooled clients and run the route sync while the server runs
        (:func:`~shipyard.gateway.services.open_services`)."""
        shared = AppState(
            picker=self._picker,
            metrics=self._metrics,
            traffic=self.traffic,
            on_table=self._table_applied,
            changed=lambda: self._table_event,
        )
        opened = open_services(
            self._settings, shared, transport=self._transport, connect=self._connect
        )
        async with opened as services:
            self._services, self.inference_log = services, services.inference_log
            try:
                yield
            finally:
                self._services = None

    def _table_applied(self, table: RoutingTable) -> None:
        self.table_ready.set()
        self._table_event.set()
        self._table_event = asyncio.Event()
        self._metrics.table_applied(table.version)

    def _table(self) -> RoutingTable | None:
        return self._services.sync.table if self._services is not None else None

    async def live(self, request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        ready = self._table() is not None  # only tables the control plane really published
        return json_response({"ready": ready}, 200 if ready else 503)

    async def server_metadata(self, request: Request) -> Response:
        return json_response(
            {"name": "shipyard", "version": self._server_version, "extensions": []}
        )

    async def metrics(self, request: Request) -> Response:
        """Prometheus metrics of every project: for the control plane's internal token only
        (``Authorization: Bearer <token>``, the token in ``run/internal-token``)."""
        token = self._settings.internal_token.encode()
        given = [v for n, v in request.headers if n.lower() == b"authorization"]
        if not token or len(given) != 1 or not hmac.compare_digest(given[0], b"Bearer " + token):
            return error_response(
                401, "gateway metrics need 'Authorization: Bearer <the server's internal token>'"
            )
        return Response(200, self._metrics.render(), content_type=CONTENT_TYPE)

    def admit(self, head: Head) -> Response | int | None:
        """Judge a request by its head alone, before its body is read (``HttpServer``'s admit).

        A model call is refused at once when the gateway holds no table, the key is missing or
        unknown, or the deployment does not exist in the key's project; otherwise its body may
        be as large as the deployment's bound. Other paths may carry a small body only.
        """
        call = paths.match(head.method, head.path)
        if not isinstance(call, Call) or call.protocol == "server":
            return _SMALL_BODY
        try:
            route = self._resolve(head, call)
        except ShipyardError as exc:
            self._metrics.observe("", "", int(exc.status), 0.0)
            return _error(exc)
        return route.max_body_bytes or self._settings.gateway_max_body_bytes

    async def _model(self, request: Request, call: Call | None) -> Response:
        started = time.perf_counter()
        route: DeploymentRoute | None = None
        try:
            if call is not None and call.action is Action.LIST:
                return self._list(request)
            route = self._resolve(request, call)
            assert call is not None  # _resolve refused it otherwise
            response = await self._forward(request, route, call)
        except ShipyardError as exc:
            response = _error(exc)
        project, name = route.key if route is not None else ("", "")
        seconds = time.perf_counter() - started
        self._metrics.observe(project, name, response.status, seconds)
        if route is not None and route.inference_logger is not None and self.inference_log:
            self.inference_log.record(
                route,
                (request.body, request.header(b"content-type")),
                (response.status, response.body, response.content_type),
                seconds,
            )
        return response

    async def _forward(self, request: Request, route: DeploymentRoute, call: Call) -> Response:
        services = self._services
        if services is None:
            raise NotReady("gateway is starting")
        forwarder, cold, bundler = services.forwarder, services.cold, services.bundler
        limit = route.max_body_bytes or self._settings.gateway_max_body_bytes
        if len(request.body) > limit:
            raise PayloadTooLarge(f"request body larger than {limit} bytes for '{route.name}'")
        self.traffic.begin(route.key)  # held requests count: they are demand
        held_s: float | None = None
        try:
            if not route_ready(route):
                if not route.wakeable:
                    raise _unavailable(route)
                held_from = time.perf_counter()
                route = await cold.wait_for_replica(route)
                held_s = time.perf_counter() - held_from
            headers = request_headers(request.headers)
            if _bundled(route, request):
                forwarded = Request(request.method, request.target, headers, request.body)
                response = await bundler.submit(route, forwarded)
            else:
                response = await forwarder.forward(
                    route, request.method, request.target, headers, request.body
                )
        finally:
            self.traffic.end(route.key)
        if call.action is Action.METADATA and call.protocol == "v2":
            response = _with_tensors(response, route)
        if held_s is not None:  # held while the deployment woke from zero: say how long
            waited = (COLD_START_WAIT_HEADER, f"{held_s:.3f}".encode())
            response = dataclasses.replace(response, headers=[*response.headers, waited])
        return response

    async def _repository_call(self, request: Request, action: str, name: str) -> Response:
        """The model repository extension (:mod:`.repository`) for the key's project."""
        table, services = self._table(), self._services
        if table is None or services is None:
            raise NotReady("gateway is starting")
        repo = services.repository
        project = self._project(table, request)
        if action == "index":
            try:
                ready_only = repository.parse_index_body(request.body)
            except ValueError as exc:
                raise InvalidInput(f"repository index: {exc}") from None
            return json_response(repo.index(table, project, ready_only))
        route = table.route(project, name)
        if route is None:
            raise NotFound(f"deployment '{name}' not found")
        await repo.set_active(route, action == "load")
        return json_response({})

    def _list(self, request: Request) -> Response:
        """``GET /v1/models``: the deployments of the key's project."""
        table = self._table()
        if table is None:
            raise NotReady("gateway is starting")
        project = self._project(table, request)
        return json_response({"models": list(table.names(project))})

    def _project(self, table: RoutingTable, message: Request | Head) -> str:
        key = parse_api_key(message.header(b"authorization"))
        project = table.project_for(self._keys(key)) if key is not None else None
        if project is None:
            raise Unauthorized(UNAUTHORIZED_MESSAGE)
        return project

    def _resolve(self, message: Request | Head, call: Call | None) -> DeploymentRoute:
        """The deployment a request may reach, or the error to answer."""
        if call is None:
            raise NotFound(f"no such endpoint: {message.method} {message.path}")
        table = self._table()
        if table is None:
            raise NotReady("gateway is starting")
        project = self._project(table, message)
        route = table.route(project, call.name)
        if route is None:
            raise NotFound(f"deployment '{call.name}' not found")
        deployed = route.model_version
        if call.version is not None and deployed and call.version != deployed:
            raise NotFound(
                f"deployment '{call.name}' has no model version {call.version!r}: the version "
                f"deployed is {deployed!r}"
            )
        return route


def _shared_load(settings: GatewaySettings) -> SharedLoad | None:
    """The counts shared with the sibling workers, when there are siblings."""
    worker = settings.gateway_worker_id
    if settings.gateway_load_file is None or not worker.isdigit():
        return None
    if not int(worker) < settings.gateway_workers or settings.gateway_workers < 2:
        return None
    return SharedLoad(settings.gateway_load_file, int(worker), settings.gateway_workers)


_SMALL_BODY = 64 * 1024
"""Body bound of requests that are no model call (health, metadata, unknown paths)."""


def _error(exc: ShipyardError) -> Response:
    """The one mapping of the gateway's errors to answers."""
    return error_response(int(exc.status), exc.message)


def _with_tensors(response: Response, route: DeploymentRoute) -> Response:
    """V2 model metadata with the route's inputs/outputs where the replica listed none."""
    if response.status != 200 or not (route.inputs or route.outputs):
        return response
    try:
        body: Any = json.loads(response.body)
    except ValueError:
        return response
    if not isinstance(body, dict):
        return response
    for field, specs in (("inputs", route.inputs), ("outputs", route.outputs)):
        if specs and not body.get(field):
            body[field] = [spec.to_wire() for spec in specs]
    return json_response(body)


def create_app(
    settings: GatewaySettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    connect: Connect = connect_socket,
) -> GatewayApp:
    """Build the gateway application.

    Args:
        settings: the gateway's settings (ports, control-plane URL, token, timeouts).
        transport: replaces the network to the control plane (tests).
        connect: opens connections to replicas (tests pass an in-memory one).

    Returns:
        The app: serve :meth:`GatewayApp.handle` (with :meth:`GatewayApp.admit` as the server's
        admission) while :meth:`GatewayApp.running` is entered (it runs the route sync and owns
        the pooled clients).
    """
    return GatewayApp(settings, transport, connect)
