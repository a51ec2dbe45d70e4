"""Entry point of the gateway process: ``python -m shipyard.gateway``.

Started by ``shipyard server`` with ``SHIPYARD_*`` settings in its environment (contract
section 2), normally by the gateway supervisor (:mod:`shipyard.gateway.supervisor`), whose exit
it follows; this is the only place that reads them. It listens only once it holds a routing
table. Serves the app of
:func:`shipyard.gateway.app.create_app` with the :mod:`shipyard.http1` server (on uvloop) until
SIGTERM/SIGINT, then lets the requests in progress finish. Requests are parsed by llhttp
(:mod:`shipyard.gateway.parser`) and admitted on their head (:meth:`GatewayApp.admit`: the key
is checked before any body is read).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from contextlib import AbstractAsyncContextManager

from shipyard.gateway.app import GatewayApp, create_app
from shipyard.gateway.parser import HttptoolsParser
from shipyard.gateway.supervisor import PARENT_ENV
from shipyard.http1 import HttpServer, run, serve_until_stopped
from shipyard.http1.run import STOP_SIGNALS
from shipyard.settings import GatewaySettings

KEEP_ALIVE_S = 65
"""Idle seconds before the gateway closes a client's keep-alive connection. Longer than the
keep-alive expiry of common clients (httpx 5 s, aiohttp 15 s, load balancers 60 s), so a client
never reuses a connection at the moment the gateway closes it."""


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """Stop when the supervisor that started this worker is gone (it would replace nobody)."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stop.set()


async def _serve(app: GatewayApp, settings: GatewaySettings) -> None:
    server = HttpServer(
        app.handle,
        keep_alive_s=KEEP_ALIVE_S,
        max_body=settings.gateway_max_body_bytes,
        admit=app.admit,
        parser=HttptoolsParser,
        head_timeout_s=settings.gateway_head_timeout_s,
        min_body_rate=settings.gateway_min_body_rate,
        max_connections=settings.gateway_max_connections,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    parent = os.environ.get(PARENT_ENV)
    watcher = asyncio.create_task(_watch_parent(int(parent), stop)) if parent else None
    async with app.running():
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        # listen only once a routing table is held: a worker replaced while the control plane
        # is down then takes no connection it could only refuse (its siblings serve them)
        waits = [asyncio.create_task(app.table_ready.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        if not stop.is_set():
            async with _grpc(app, settings):
                await serve_until_stopped(
                    server,
                    settings.bind,
                    settings.gateway_port,
                    stop=stop,
                    reuse_port=settings.gateway_workers > 1,
                )
    if watcher is not None:
        watcher.cancel()


def _grpc(app: GatewayApp, settings: GatewaySettings) -> AbstractAsyncContextManager[object]:
    """The V2 gRPC service beside the HTTP server (nothing when its port is 0)."""
    port = settings.resolved_gateway_grpc_port
    if not port:
        return contextlib.nullcontext()
    from shipyard.gateway.grpcv2.service import serving  # grpcio: only when the port is on

    limit = max(settings.gateway_max_body_bytes, settings.gateway_max_answer_bytes)
    return serving(app.handle, settings.bind, port, max_message_bytes=limit)


def main() -> None:
    """Read the settings from the environment and serve until stopped."""
    settings = GatewaySettings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per proxied request
    if not settings.internal_token:
        logging.getLogger("shipyard.gateway").warning(
            "SHIPYARD_INTERNAL_TOKEN is empty: the control plane will likely refuse the routes poll"
        )
    run(_serve(create_app(settings), settings))


if __name__ == "__main__":
    main()
