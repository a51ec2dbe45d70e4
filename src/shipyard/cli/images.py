"""``shipyard images``: the Docker engine's side of environments (bootstrap, list, prune).

These commands talk to the Docker engine (``DOCKER_HOST`` or ``--docker-host``), not to the
Shipyard server: ``bootstrap`` makes the catalogue's base image from Debian packages where no
registry can be reached (debootstrap + ``docker import``; run it as root on the engine's
machine), ``list`` shows the environment images the DOCKER serving tool has built, ``prune``
removes those of older runtimes that no container uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.backends.docker.bootstrap import (
    DEFAULT_MIRROR,
    DEFAULT_TAG,
    BootstrapRequest,
    bootstrap,
)
from shipyard.backends.docker.images import LABEL, prune
from shipyard.cli._render import err, out, rows_table

if TYPE_CHECKING:
    from shipyard.backends.docker.sdk import DockerEngine

app = typer.Typer(help="Docker images: bootstrap a base image, list and prune environment images.")

DockerHost = Annotated[
    str | None,
    typer.Option(
        "--docker-host",
        envvar=["SHIPYARD_DOCKER_HOST", "DOCKER_HOST"],
        help="Docker engine URL (default: DOCKER_HOST, else the default socket).",
    ),
]


@app.command("bootstrap")
def bootstrap_command(
    tag: Annotated[str, typer.Option(help="Image to make (the catalogue's base image).")] = (
        DEFAULT_TAG
    ),
    suite: Annotated[
        str | None, typer.Option(help="Debian suite (default: this machine's).")
    ] = None,
    mirror: Annotated[str, typer.Option(help="Debian mirror or its proxy.")] = DEFAULT_MIRROR,
    force: Annotated[bool, typer.Option(help="Make it again even if it exists.")] = False,
    docker_host: DockerHost = None,
) -> None:
    """Make a Python base image from Debian packages, with no registry (needs root)."""
    engine = _engine(docker_host)
    try:
        request = BootstrapRequest(tag=tag, suite=suite, mirror=mirror, force=force)
        made = bootstrap(engine, request, lambda line: err().print(line, markup=False))
    finally:
        engine.close()
    out().print(f"base image {made} is ready")


@app.command("list")
def list_images(docker_host: DockerHost = None) -> None:
    """Environment images built for the DOCKER serving tool: tag, key, base, lock hash."""
    engine = _engine(docker_host)
    try:
        found = engine.images(f"{LABEL}.key")
    finally:
        engine.close()
    rows = [
        [
            ", ".join(image.tags) or "-",
            image.labels.get(f"{LABEL}.key", "-"),
            image.labels.get(f"{LABEL}.base", "-"),
            image.labels.get(f"{LABEL}.lock", "-"),
            f"{image.size_bytes / 1e6:.0f} MB",
        ]
        for image in found
    ]
    out().print(rows_table(rows, "IMAGE", "KEY", "BASE", "LOCK", "SIZE"))


def _engine(docker_host: str | None) -> DockerEngine:
    """The Docker engine's client, imported only when a command needs it: the ``docker`` SDK
    comes with ``shipyard[server]``, not with the client install."""
    try:
        from shipyard.backends.docker.sdk import DockerEngine as Engine
    except ModuleNotFoundError as exc:
        err().print(f"error: {exc.name} is not installed: pip install 'shipyard[server]'")
        raise typer.Exit(1) from exc
    return Engine(docker_host)


@app.command("prune")
def prune_images(
    everything: Annotated[
        bool, typer.Option("--all", help="Every environment image, not only older runtimes'.")
    ] = False,
    docker_host: DockerHost = None,
) -> None:
    """Remove environment images built for an older Shipyard runtime (no container uses)."""
    engine = _engine(docker_host)
    try:
        removed = prune(engine, everything=everything, on_line=lambda x: err().print(x))
    finally:
        engine.close()
    out().print(f"removed {len(removed)} environment image(s)")
