"""``shipyard environments``: the base-environment catalogue (list, show, add), builds, logs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli._options import Json
from shipyard.cli._render import out, print_json, rows_table, when_text
from shipyard.cli._state import project_of
from shipyard.errors import InvalidInput
from shipyard.spec.environment import BaseEnvironment, EnvironmentBuild

app = typer.Typer(
    help="Base environments: list, show, add; their builds and build logs.", no_args_is_help=True
)

# what a file given to ``add`` may set (``builtin`` is the server's to decide)
FILE_KEYS = tuple(field for field in BaseEnvironment.model_fields if field != "builtin")


@app.command("list")
def list_environments(ctx: typer.Context, as_json: Json = False) -> None:
    """Every base environment: reference, aliases, pinned packages."""
    envs = project_of(ctx).get_environment_api().get_environments()
    if as_json:
        print_json([e.model_dump(mode="json") for e in envs])
        return
    rows = [[e.ref, ", ".join(e.aliases) or "-", str(len(e.packages)), e.description] for e in envs]
    out().print(rows_table(rows, "ENVIRONMENT", "ALIASES", "PINS", "DESCRIPTION"))


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="name[:version] or alias")],
    as_json: Json = False,
) -> None:
    """One base environment with each pinned package."""
    env = project_of(ctx).get_environment_api().get_environment(ref)
    if as_json:
        print_json(env.model_dump(mode="json"))
        return
    console = out()
    console.print(f"[bold]{env.ref}[/bold]  {env.description}")
    console.print(f"python: {env.python or 'the server interpreter'} · image: {env.image}")
    if env.aliases:
        console.print(f"aliases: {', '.join(env.aliases)}")
    for package in env.packages:
        console.print(f"  {package}")


@app.command("add")
def add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="TOML or JSON: name, version, packages, ...")],
) -> None:
    """Add a base environment from a file (administrator key)."""
    data = _read(file)
    env = project_of(ctx).get_environment_api().create_environment(**data)
    out().print(f"added base environment {env.ref} ({len(env.packages)} pinned packages)")


@app.command("builds")
def builds(ctx: typer.Context, as_json: Json = False) -> None:
    """Environment builds of this project's deployments (administrator key: all), newest first."""
    built = project_of(ctx).get_environment_api().get_builds()
    if as_json:
        print_json([b.model_dump(mode="json") for b in built])
        return
    rows = [_build_row(b) for b in built]
    out().print(
        rows_table(
            rows, "BUILD", "STATE", "BASE", "PACKAGES", "STARTED", "TOOK", "SIZE", "DEPLOYMENTS"
        )
    )


@app.command("logs")
def logs(
    ctx: typer.Context,
    build: Annotated[
        str, typer.Argument(help="Build id (BUILD of `shipyard environments builds`)")
    ],
    tail: Annotated[int, typer.Option(help="Last lines of the log (1-10000).")] = 200,
    as_json: Json = False,
) -> None:
    """Print the end of a build's log: the resolver's and installer's own output."""
    found = project_of(ctx).get_environment_api().get_build_log(build, tail=tail)
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    if found.truncated:
        typer.echo(f"[earlier lines omitted: showing the last {len(found.lines)}]")
    for line in found.lines:
        typer.echo(line)
    typer.echo(f"[build {found.build}: {found.state}]")


def _build_row(b: EnvironmentBuild) -> list[str]:
    took = f"{b.duration_s:.1f} s" if b.duration_s is not None else "-"
    size = f"{b.size_bytes / 2**20:.1f} MiB" if b.size_bytes is not None else "-"
    return [
        b.id,
        str(b.state),
        b.base,
        str(len(b.packages)) if b.packages else "-",
        when_text(b.started_at),
        took,
        size,
        ", ".join(b.deployments) or "-",
    ]


def _read(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
        data: Any = tomllib.loads(text) if file.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{file}: cannot read a base environment from it ({exc})") from None
    if not isinstance(data, dict) or not {"name", "version"} <= data.keys():
        raise InvalidInput(f"{file}: needs at least 'name' and 'version' (and 'packages')")
    unknown = [key for key in data if key not in FILE_KEYS]
    if unknown:
        raise InvalidInput(
            f"{file}: unknown key {', '.join(map(repr, unknown))}; use {', '.join(FILE_KEYS)}"
        )
    return data
