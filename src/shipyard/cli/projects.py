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


@app.command("list")
def list_projects(ctx: typer.Context, as_json: JSON = False) -> None:
    """Every project with its quota (administrator key)."""
    projects = project_of(ctx).get_key_api().list_projects()
    if as_json:
        typer.echo(json.dumps(projects, indent=2))
        return
    for p in projects:
        limits = {k: v for k, v in (p.get("quota") or {}).items() if v is not None}
        quota = ", ".join(f"{k} {v}" for k, v in limits.items()) or "no quota"
        out().print(f"{p['name']}  (id {p['id']}, created {p['created_at']}; {quota})")


@app.command("delete")
def delete_project(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The project to delete.")]
) -> None:
    """Delete a project without deployments, its keys, models and files (administrator key)."""
    project_of(ctx).get_key_api().delete_project(name)
    out().print(f"deleted project {name}")


@app.command("quota")
def set_quota(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project.")],
    cores: Annotated[float | None, typer.Option(help="Most CPU cores in all.")] = None,
    memory: Annotated[int | None, typer.Option(help="Most memory in all (MiB).")] = None,
    gpus: Annotated[int | None, typer.Option(help="Most GPUs in all.")] = None,
    instances: Annotated[int | None, typer.Option(help="Most instances in all.")] = None,
) -> None:
    """Set a project's quota (an option left out: no limit) (administrator key)."""
    project_of(ctx).get_key_api().set_quota(
        name, cores=cores, memory=memory, gpus=gpus, instances=instances
    )
    out().print(f"quota of {name} set")
