"""The ``shipyard`` Typer application and its entry point ``run()``.

Commands: ``models push|list``, ``environments list|show|add|builds``, ``projects show|create``,
``deployments create|list|status|start|stop|delete|logs|history|rollback|scale|update``,
``deploy`` (the same as ``deployments create``, e.g. ``shipyard deploy iris -m iris --dry-run``),
``predict``, ``images bootstrap|list|prune`` (the Docker engine's side, ``shipyard.cli.images``) and
``server`` (defined in ``shipyard.cli.server``). Any ``ShipyardError`` raised by
a command is printed as one red ``error: <message>`` line on stderr, with exit code 1.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from shipyard.cli import deployments, environments, images, keys, models, projects
from shipyard.cli._render import print_error
from shipyard.cli._state import CliState
from shipyard.cli.predict import predict
from shipyard.errors import ShipyardError


class ShipyardGroup(TyperGroup):
    """The root command group: turns ``ShipyardError`` into an error line and exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # ctx: typer's click Context
        try:
            return super().invoke(ctx)
        except ShipyardError as exc:
            print_error(exc)
            raise typer.Exit(code=1) from None


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"shipyard {version('shipyard')}")
        raise typer.Exit()


def _main(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            envvar="SHIPYARD_HOST",
            help="Control-plane URL (default: http://127.0.0.1:8470).",
            show_envvar=True,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="SHIPYARD_API_KEY",
            help="API key (default: the file $SHIPYARD_HOME/api-key).",
            show_envvar=True,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Shipyard: self-hostable model serving with explicit resource allocation."""
    state = ctx.ensure_object(CliState)
    state.host = host or state.host
    state.api_key = api_key or state.api_key
    ctx.call_on_close(state.close)


def _add_server_command(app: typer.Typer) -> None:
    """Register ``shipyard server`` from ``shipyard.cli.server`` when that module exists."""
    try:
        from shipyard.cli.server import server_command  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name != "shipyard.cli.server":
            raise
        return
    app.command("server")(server_command)


def build_app() -> typer.Typer:
    """The ``shipyard`` command-line application."""
    app = typer.Typer(
        cls=ShipyardGroup,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_main)
    app.add_typer(models.app, name="models")
    app.add_typer(deployments.app, name="deployments")
    app.add_typer(environments.app, name="environments")
    app.add_typer(projects.app, name="projects")
    app.add_typer(keys.app, name="keys")
    app.command("deploy")(deployments.create)
    app.command("predict")(predict)
    app.add_typer(images.app, name="images")
    _add_server_command(app)
    return app


app = build_app()


def run() -> None:
    """Console-script entry point (``shipyard``)."""
    try:
        app()
    except ShipyardError as exc:  # raised outside a command (should not happen)
        print_error(exc)
        sys.exit(1)
