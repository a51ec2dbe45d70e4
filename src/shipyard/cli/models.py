"""``shipyard models``: push a model directory as a new version, list models and versions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.text import Text

from shipyard.cli._options import Json
from shipyard.cli._render import err, out, print_json, rows_table
from shipyard.cli._state import project_of
from shipyard.sdk import Model
from shipyard.spec.deployment import Framework

app = typer.Typer(help="Upload and list model versions.", no_args_is_help=True)


def _metrics(values: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for item in values:
        key, sep, number = item.partition("=")
        try:
            if not sep or not key:
                raise ValueError(item)
            metrics[key.strip()] = float(number)
        except ValueError:
            raise typer.BadParameter(
                f"{item!r} is not NAME=NUMBER", param_hint="--metric"
            ) from None
    return metrics


def _upload(model: Model, path: Path) -> Model:
    console = err()
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(f"uploading {model.name}", total=None)
        return model.save(
            path, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )


@app.command("push")
def push(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Model directory (or single model file).")],
    name: Annotated[str, typer.Option("--name", "-n", help="Model name.")],
    framework: Annotated[
        Framework, typer.Option(help="How the files are served when there is no script.")
    ] = Framework.PYTHON,
    description: Annotated[str, typer.Option(help="Free-text description.")] = "",
    metric: Annotated[
        list[str] | None, typer.Option(help="Training metric NAME=NUMBER (repeatable).")
    ] = None,
) -> None:
    """Pack PATH as a gzip tar and upload it as the next version of model NAME."""
    registry = project_of(ctx).get_model_registry()
    model = registry.framework(framework.value).create_model(
        name, metrics=_metrics(metric or []), description=description
    )
    _upload(model, path)
    size = f"{(model.size_bytes or 0) / (1 << 20):.1f} MiB"
    out().print(
        Text(
            f"pushed {model.name} version {model.version} "
            f"({len(model.files)} files, {size}, {model.checksum})"
        )
    )


def _version_json(model: Model) -> dict[str, object]:
    return {
        "name": model.name,
        "version": model.version,
        "framework": model.framework,
        "description": model.description,
        "metrics": model.metrics,
        "files": model.files,
        "size_bytes": model.size_bytes,
        "checksum": model.checksum,
        "created_at": model.created_at,
    }


@app.command("list")
def list_models(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="List the versions of this model.")] = None,
    as_json: Json = False,
) -> None:
    """List the models of the project, or the versions of model NAME."""
    registry = project_of(ctx).get_model_registry()
    if as_json:
        print_json(
            [dataclasses.asdict(s) for s in registry.list_models()]
            if name is None
            else [_version_json(m) for m in registry.get_models(name)]
        )
        return
    if name is None:
        rows = [
            (s.name, str(s.latest_version or ""), str(s.versions), s.created_at or "")
            for s in registry.list_models()
        ]
        out().print(rows_table(rows, "NAME", "LATEST", "VERSIONS", "CREATED"))
        return
    versions = [
        (
            str(m.version),
            m.framework,
            str(len(m.files)),
            f"{(m.size_bytes or 0) / (1 << 20):.2f}",
            ", ".join(f"{k}={v:g}" for k, v in m.metrics.items()),
            m.created_at or "",
        )
        for m in registry.get_models(name)
    ]
    headers = ("VERSION", "FRAMEWORK", "FILES", "SIZE (MiB)", "METRICS", "CREATED")
    out().print(rows_table(versions, *headers))


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[
        int | None, typer.Option("--version", "-v", help="Delete only this version.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete a whole model without asking.")
    ] = False,
) -> None:
    """Delete one version of model NAME (--version), or the whole model with every version.

    Refused (exit 1, naming them) while a deployment uses it.
    """
    registry = project_of(ctx).get_model_registry()
    if version is not None:
        registry.get_model(name, version).delete()
        out().print(Text(f"deleted {name} version {version}"))
        return
    if not yes:
        count = len(registry.get_models(name))
        typer.confirm(f"delete model {name} and its {count} version(s)?", abort=True, err=True)
    gone = registry.delete_model(name)
    out().print(Text(f"deleted model {name} (versions {', '.join(map(str, gone)) or 'none'})"))
