"""``shipyard server`` running: the API (uvicorn), the reconciler, the gateway, until stopped.

Part of the composition root (:mod:`shipyard.server`). The start-up goes step by step (the data
directory, the gateway of a previous server, the collaborators, the API and the gateway) and
stops early when a stop is requested meanwhile (:mod:`~shipyard.server.shutdown`). Whatever
was started is stopped again, in order: the API drains (bounded by ``stop_grace_s``; the
gateway's long polls are answered at once), its lifespan stops the reconciler and the replicas,
then the gateway is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import uvicorn

from shipyard.api.app import create_app
from shipyard.api.routes.usage import FollowSlots
from shipyard.api.services import Services
from shipyard.api.usage_history import UsageHistory, sample_forever
from shipyard.api.usage_persistence import persist_forever, restore_history
from shipyard.errors import ShipyardError
from shipyard.server.compose import build_services
from shipyard.server.gateway_process import (
    GATEWAY_STOP_S,
    GatewayHandle,
    GatewayKeeper,
    adopt_or_retire_gateway,
    gateway_env,
)
from shipyard.server.home import bootstrap_key, internal_token, prepare_home
from shipyard.server.shutdown import Shutdown
from shipyard.settings import ServerSettings
from shipyard.store.home_lock import hold_home

log = logging.getLogger("shipyard.server")
STOP_MARGIN_S = 30.0
"""What the last-resort bound allows beyond the stop's own steps (see :func:`stop_bound_s`)."""


def stop_bound_s(settings: ServerSettings) -> float:
    """The last-resort bound of a stop: the API's drain and the replicas' stop (each
    ``stop_grace_s``), the gateway's stop, and a margin."""
    return 2 * settings.stop_grace_s + GATEWAY_STOP_S + STOP_MARGIN_S


def check_ports_free(settings: ServerSettings, *, gateway: bool = True) -> None:
    """Fail at once, with the setting to change, when a port is taken (the gateway's only when
    ``gateway``: an adopted gateway holds it)."""
    ports = [("API", settings.api_port, "SHIPYARD_API_PORT")]
    if gateway:
        ports.append(("gateway", settings.gateway_port, "SHIPYARD_GATEWAY_PORT"))
        if settings.resolved_gateway_grpc_port:
            grpc_port = settings.resolved_gateway_grpc_port
            ports.append(("gateway gRPC", grpc_port, "SHIPYARD_GATEWAY_GRPC_PORT"))
    for what, port, var in ports:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((settings.bind, port))
            except OSError as exc:
                raise ShipyardError(
                    f"the {what} port {settings.bind}:{port} is in use ({exc.strerror}): "
                    f"is another Shipyard running? Pick another port with {var}"
                ) from exc


def banner(settings: ServerSettings, key: str | None) -> str:
    api = f"http://{settings.bind}:{settings.api_port}"
    lines = [
        "Shipyard is running",
        f"  API       {api}/api/v1   (OpenAPI: {api}/openapi.json, docs: {api}/docs)",
        f"  web UI    {api}/ui/",
        f"  gateway   http://{settings.bind}:{settings.gateway_port}   (KServe V1 and V2)",
        f"  gRPC      {settings.bind}:{settings.resolved_gateway_grpc_port}   (V2 gRPC, 0 = off)",
        f"  data      {settings.home}",
    ]
    if key:
        lines.append(
            f"  API key   {key}   (shown once; saved to {settings.api_key_file}, mode 600)"
        )
    else:
        lines.append(f"  API key   in {settings.api_key_file}")
    return "\n".join(lines)


class _Server(uvicorn.Server):
    """uvicorn's server, minus its signal capture: :class:`Shutdown` owns SIGINT and SIGTERM,
    so that every stop (Ctrl-C, a TERM from a supervisor, at any moment) runs the same path."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _api_server(
    settings: ServerSettings, services: Services, history: UsageHistory, followers: FollowSlots
) -> _Server:
    config = uvicorn.Config(
        create_app(services, usage_history=history, log_followers=followers),
        host=settings.bind,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # requests still open this long after the stop (uploads, predictions) are cancelled,
        # with uvicorn's log line saying how many: the replicas' stop comes next
        timeout_graceful_shutdown=max(1, round(settings.stop_grace_s)),
    )
    return _Server(config)


async def _run_started(
    settings: ServerSettings,
    services: Services,
    env: dict[str, str],
    adopted: GatewayHandle | None,
    shutdown: Shutdown,
) -> None:
    """Serve the API and keep the gateway until the stop; then stop both, in that order."""
    key = bootstrap_key(services.store, settings.api_key_file)
    history = UsageHistory()
    restore_history(history, services.store, time.time())
    followers = FollowSlots()
    server = _api_server(settings, services, history, followers)
    keeper = GatewayKeeper(env, adopted)
    shutdown.on_overrun(lambda: keeper.handle.kill())
    shutdown.on_stop(lambda: setattr(server, "should_exit", True))
    shutdown.on_stop(services.controller.routes.release)  # the gateway's long polls end now
    shutdown.on_stop(followers.close)  # and log follows, at their next poll
    background = [
        asyncio.create_task(keeper.supervise()),
        asyncio.create_task(sample_forever(history, services.controller.snapshot)),
        asyncio.create_task(persist_forever(history, services.store)),
    ]
    api = asyncio.create_task(server.serve())
    try:
        while not server.started and not api.done():
            await asyncio.sleep(0.05)
        if server.started and not shutdown.requested:
            print(banner(settings, key), flush=True)
        await api
    finally:
        shutdown.arm("the API server ended")  # also when no stop request ended it
        api.cancel()  # a no-op once it returned (it does, after a stop request)
        for task in background:
            task.cancel()
        await asyncio.gather(api, *background, return_exceptions=True)
        await keeper.stop()


async def serve(settings: ServerSettings, shutdown: Shutdown | None = None) -> None:
    """Start everything, serve until the stop request, stop what was started."""
    shutdown = shutdown or Shutdown(stop_bound_s(settings))
    shutdown.install(asyncio.get_running_loop())  # first: a signal from now on is a stop
    prepare_home(settings)
    token = internal_token(settings)
    env = gateway_env(settings, token)
    adopted = await adopt_or_retire_gateway(settings, env)
    if not shutdown.requested:
        check_ports_free(settings, gateway=adopted is None)
        services = build_services(settings, token)
        try:
            if not shutdown.requested:
                await _run_started(settings, services, env, adopted, shutdown)
                return
            await services.controller.shutdown(stop_replicas=False)  # nothing ran yet
        finally:
            services.store.close()
    if adopted is not None:  # stopped before it was kept: a stop on purpose stops it
        await adopted.stop()


def run(settings: ServerSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health probe otherwise
    owner = {
        "pid": os.getpid(),
        "bind": settings.bind,
        "api_port": settings.api_port,
        "gateway_port": settings.gateway_port,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    shutdown = Shutdown(stop_bound_s(settings))
    with hold_home(settings.home, owner):  # one server per data directory (adopts replicas)
        try:
            asyncio.run(serve(settings, shutdown))
        finally:  # however it ended, the interpreter's exit is bounded too (it joins threads)
            shutdown.arm("the server is exiting")
