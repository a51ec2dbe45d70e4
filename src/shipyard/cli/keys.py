"""``shipyard keys``: the API keys of the key's own project: list, create, revoke, rotate."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from shipyard.cli._render import out
from shipyard.cli._state import project_of

app = typer.Typer(
    help="API keys of your project: list, create, revoke, rotate.", no_args_is_help=True
)

JSON = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
KEY_ID = Annotated[str, typer.Argument(help="The key's id (see 'shipyard keys list').")]


@app.command("list")
def list_keys(ctx: typer.Context, as_json: JSON = False) -> None:
    """The project's keys by prefix and creation time (never the secret)."""
    keys = project_of(ctx).get_key_api().list_keys()
    if as_json:
        typer.echo(json.dumps([asdict(k) for k in keys], indent=2))
        return
    for k in keys:
        kind = "read-only" if k.read_only else ("admin" if k.is_admin else "full")
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        out().print(f"{k.id}  {k.prefix}…  {kind}  created {k.created_at}  {state}")


@app.command("create")
def create(
    ctx: typer.Context,
    read_only: Annotated[bool, typer.Option("--read-only", help="Predict and read only.")] = False,
) -> None:
    """Create a key; it is shown once."""
    made = project_of(ctx).get_key_api().create_key(read_only=read_only)
    out().print(f"created key {made.key.id}; its secret (shown once, store it now):")
    typer.echo(made.api_key)


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: KEY_ID) -> None:
    """Stop a key from working (the gateway follows within seconds)."""
    project_of(ctx).get_key_api().revoke_key(key_id)
    out().print(f"revoked key {key_id}")


@app.command("rotate")
def rotate(ctx: typer.Context, key_id: KEY_ID) -> None:
    """Replace a key by a new one with the same rights; the old one is revoked."""
    made = project_of(ctx).get_key_api().rotate_key(key_id)
    out().print(f"key {key_id} revoked; the new key {made.key.id} (shown once, store it now):")
    typer.echo(made.api_key)
