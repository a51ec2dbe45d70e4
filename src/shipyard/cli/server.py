"""``shipyard server``: start the control plane, the reconciler and the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


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
    from shipyard.server import run
    from shipyard.settings import ServerSettings

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
