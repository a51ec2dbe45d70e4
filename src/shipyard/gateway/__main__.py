"""Entry point of the gateway process: ``python -m shipyard.gateway``.

Started by ``shipyard server`` with ``SHIPYARD_*`` settings in its environment (contract
section 2); this is the only place that reads them. Serves the app of
:func:`shipyard.gateway.app.create_app` with uvicorn until SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging

import uvicorn

from shipyard.gateway.app import create_app
from shipyard.settings import GatewaySettings

KEEP_ALIVE_S = 65
"""Idle seconds before the gateway closes a client's keep-alive connection. Longer than the
keep-alive expiry of common clients (httpx 5 s, aiohttp 15 s, load balancers 60 s), so a client
never reuses a connection at the moment the gateway closes it (uvicorn's default is 5 s)."""


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
    uvicorn.run(
        create_app(settings),
        host=settings.bind,
        port=settings.gateway_port,
        log_level="warning",  # uvicorn's own start/stop chatter; our loggers follow log_level
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        ws="none",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
