"""``shipyard server``: start the control plane, the reconciler and the gateway.

The server is imported only when this command runs: ``pip install shipyard`` (the client) has
none of its dependencies, and the command then says how to add them (``shipyard[server]``).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

from shipyard.errors import ShipyardError


def server_command(
    home: Path | None = typer.Option(None, help="Data directory [env SHIPYARD_HOME]"),
    bind: str | None = typer.Option(None, help="Listen address [env SHIPYARD_BIND]"),
    api_port: int | None = typer.Option(None, help="API port [env SHIPYARD_API_PORT]"),
    gateway_port: int | None = typer.Option(None, help="Gateway port [env SHIPYARD_GATEWAY_PORT]"),
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL [env SHIPYARD_DATABASE_URL]"
    ),
) -> None:
    """Start Shipyard: REST API, reconciler and inference gateway (Ctrl-C stops everything)."""
    # the server owns SIGINT for its whole life (its event loop takes it once running): one
    # launched with SIGINT ignored (a script's background job) would otherwise lose a Ctrl-C
    # sent while it starts, then run on; before the loop, a SIGINT ends it here (exit 130)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _start(home, bind, api_port, gateway_port, database_url)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _start(
    home: Path | None,
    bind: str | None,
    api_port: int | None,
    gateway_port: int | None,
    database_url: str | None,
) -> None:
    try:
        from shipyard.server import run
        from shipyard.settings import ServerSettings
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == "shipyard":
            raise
        raise ShipyardError(
            f"`shipyard server` needs the server's dependencies ({exc.name} is missing): "
            "install them with pip install 'shipyard[server]' (or uv sync in a checkout)"
        ) from None

    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "home": home,
            "bind": bind,
            "api_port": api_port,
            "gateway_port": gateway_port,
            "database_url": database_url,
        }.items()
        if v is not None
    }
    run(ServerSettings(**overrides))
