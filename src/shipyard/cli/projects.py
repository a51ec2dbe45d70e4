"""``shipyard projects``: the key's own project, and creating projects (administrator key)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from shipyard.cli._render import out
from shipyard.cli._state import project_of

app = typer.Typer(help="Projects: show the key's own, create new ones.", no_args_is_help=True)

JSON = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("show")
def show(ctx: typer.Context, as_json: JSON = False) -> None:
    """The project the API key belongs to."""
    project = project_of(ctx)
    data = {"id": project.id, "name": project.name, "created_at": project.created_at}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    out().print(f"project {project.name} (id {project.id}, created {project.created_at})")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits and '-'.")],
    key_only: Annotated[
        bool,
        typer.Option(
            "--key-only",
            help="Print only the new key, e.g. export SHIPYARD_API_KEY=$(shipyard projects "
            "create team-a --key-only).",
        ),
    ] = False,
    as_json: JSON = False,
) -> None:
    """Create a project and its first API key (administrator key); the key is shown once."""
    created = project_of(ctx).create_project(name)
    if key_only:
        typer.echo(created.api_key)
    elif as_json:
        data = {"id": created.id, "name": created.name, "api_key": created.api_key}
        typer.echo(json.dumps(data, indent=2))
    else:
        out().print(f"created project {created.name}; its API key (shown once, store it now):")
        typer.echo(created.api_key)
