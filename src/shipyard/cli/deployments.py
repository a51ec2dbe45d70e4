"""``shipyard deployments``: create, list, inspect, wait for, start, stop and delete
deployments, and read their logs. Spec changes (update, scale, history, rollback) are in
``shipyard.cli.deployment_changes``; options and their conversion in ``shipyard.cli._options``.
"""

from __future__ import annotations

import warnings
from enum import StrEnum
from typing import Annotated

import typer
import yaml
from rich.text import Text

import shipyard.cli.deployment_changes as changes
import shipyard.cli.usage as usage
from shipyard.cli._options import (
    BatchLatency,
    BatchSize,
    Cores,
    EnvironmentOption,
    Gpus,
    Instances,
    Json,
    LimitCores,
    LimitGpus,
    LimitMemory,
    LogFile,
    LogMode,
    LogSampleRate,
    LogUrl,
    MaxInstances,
    Memory,
    Metric,
    MinInstances,
    NameArg,
    NoWait,
    Target,
    TCores,
    Timeout,
    TLimitCores,
    TLimitMemory,
    TMemory,
    batcher,
    inference_logger,
    resource_change,
    scaling,
)
from shipyard.cli._render import (
    LiveStatus,
    conditions_table,
    deployment_json,
    deployment_summary,
    deployments_table,
    environments_table,
    out,
    print_json,
    replicas_table,
    usage_table,
)
from shipyard.cli._resolution import print_resolution, print_warnings
from shipyard.cli._state import project_of
from shipyard.sdk import Deployment, ShipyardWarning, Transformer
from shipyard.sdk._logs import format_lines
from shipyard.spec.logging import LoggerMode
from shipyard.spec.resources import PredictorResources, TransformerResources

app = typer.Typer(help="Create and manage deployments.", no_args_is_help=True)
app.command("update")(changes.update)
app.command("scale")(changes.scale)
app.command("history")(changes.history)
app.command("rollback")(changes.rollback)
app.command("usage")(usage.usage)
app.command("advice")(usage.advice)


def _deployment(ctx: typer.Context, name: str) -> Deployment:
    return project_of(ctx).get_model_serving().get_deployment(name)


def _transformer(
    script: str | None,
    instances: int,
    requests: tuple[float | None, int | None],
    limits: tuple[float | None, int | None],
) -> Transformer | None:
    if script is None:
        return None
    change = resource_change(instances, (*requests, None), (*limits, None))
    return Transformer(script, resources=change.apply(TransformerResources()))


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    model: Annotated[str, typer.Option("--model", "-m", help="Model name.")],
    version: Annotated[int | None, typer.Option(help="Model version; default: latest.")] = None,
    script: Annotated[str | None, typer.Option(help="Predictor script in the model.")] = None,
    environment: EnvironmentOption = None,
    instances: Instances = 1,
    cores: Cores = None,
    memory: Memory = None,
    gpus: Gpus = None,
    limit_cores: LimitCores = None,
    limit_memory: LimitMemory = None,
    limit_gpus: LimitGpus = None,
    min_instances: MinInstances = None,
    max_instances: MaxInstances = None,
    target: Target = None,
    scale_metric: Metric = None,
    batch_size: BatchSize = None,
    batch_latency_ms: BatchLatency = None,
    log_url: LogUrl = None,
    log_file: LogFile = None,
    log_mode: LogMode = LoggerMode.ALL,
    log_sample_rate: LogSampleRate = 1.0,
    transformer: Annotated[
        str | None,
        typer.Option(
            help="Transformer script in the model (class Transformer with preprocess "
            "and postprocess).",
            rich_help_panel="Transformer",
        ),
    ] = None,
    transformer_instances: Annotated[
        int, typer.Option(help="Transformer instances.", rich_help_panel="Transformer")
    ] = 1,
    transformer_cores: TCores = None,
    transformer_memory: TMemory = None,
    transformer_limit_cores: TLimitCores = None,
    transformer_limit_memory: TLimitMemory = None,
    serving_tool: Annotated[
        str,
        typer.Option(
            help="LOCAL, DOCKER (fixed: request = limit), KUBERNETES (requests only), KSERVE."
        ),
    ] = "LOCAL",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what the serving tool would apply; create nothing."),
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="With --dry-run: 'yaml' prints the exact objects KUBERNETES or KSERVE would "
            "apply (kubectl-ready), instead of the tables.",
        ),
    ] = None,
    no_wait: NoWait = False,
    timeout: Timeout = 600,
) -> None:
    """Deploy a model version and wait until it is RUNNING (or FAILED).

    With --dry-run: show what the serving tool would apply per component; create nothing.
    """
    if output not in (None, "yaml"):
        raise typer.BadParameter(f"{output!r}: the only output format is 'yaml'", param_hint="-o")
    project = project_of(ctx)
    registered = project.get_model_registry().get_model(model, version)
    serving = project.get_model_serving()
    requests, limits = (cores, memory, gpus), (limit_cores, limit_memory, limit_gpus)
    predictor = serving.create_predictor(
        registered,
        name=name,
        serving_tool=serving_tool,
        script_file=script,
        environment=environment,
        resources=resource_change(instances, requests, limits).apply(PredictorResources()),
        scaling_configuration=scaling(None, min_instances, max_instances, target, scale_metric),
        inference_batcher=batcher(None, batch_size, batch_latency_ms),
        inference_logger=inference_logger(log_url, log_file, log_mode, log_sample_rate),
        transformer=_transformer(
            transformer,
            transformer_instances,
            (transformer_cores, transformer_memory),
            (transformer_limit_cores, transformer_limit_memory),
        ),
    )
    deployment = serving.create_deployment(predictor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShipyardWarning)  # printed below, in yellow
        if dry_run:
            resolution = deployment.dry_run()
            if output == "yaml":
                typer.echo(yaml.safe_dump_all(resolution.objects, sort_keys=False), nl=False)
                print_warnings(resolution)
                return
            print_resolution(name, resolution)
            print_warnings(resolution)
            return
        try:
            with LiveStatus(deployment, "deploying") as live:
                wait = None if no_wait else timeout
                deployment.save(await_update=wait, on_status=live, create_only=True)
        finally:  # also when the wait fails: the warnings may explain why
            print_warnings(deployment.resolution)
    deployment_summary(deployment)


@app.command("list")
def list_deployments(ctx: typer.Context, as_json: Json = False) -> None:
    """List the deployments of the project."""
    deployments = project_of(ctx).get_model_serving().get_deployments()
    if as_json:
        print_json([deployment_json(d) for d in deployments])
        return
    out().print(deployments_table(deployments))


@app.command("status")
def status(ctx: typer.Context, name: NameArg, as_json: Json = False) -> None:
    """Show state, conditions, replicas (phase, pid, restarts, last exit) and their usage."""
    deployment = _deployment(ctx, name)
    if as_json:
        print_json(deployment_json(deployment))
        return
    deployment_summary(deployment)
    current = deployment.status or deployment.get_state()
    console = out()
    tables = (
        conditions_table(current) if current.conditions else None,
        replicas_table(current) if current.replicas else None,
        environments_table(current),
        usage_table(current),
    )
    for table in tables:
        if table is not None:
            console.print()
            console.print(table)
    for note in current.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for title, lines in usage.status_sections(deployment):
        console.print()
        console.print(f"{title}:")
        for line in lines:
            console.print(f"  {line}", markup=False)
    print_warnings(deployment.resolution)  # e.g. a Fiddler image name that is an alias


class Until(StrEnum):
    """What ``shipyard deployments wait`` waits for."""

    RUNNING = "running"
    STOPPED = "stopped"
    DELETED = "deleted"


@app.command("wait")
def wait(
    ctx: typer.Context,
    name: NameArg,
    until: Annotated[
        Until, typer.Option("--for", help="running (its current revision), stopped or deleted.")
    ] = Until.RUNNING,
    timeout: Timeout = 600,
) -> None:
    """Wait until a deployment is RUNNING at its current revision (or stopped, or deleted).

    Exits 1 if it FAILED (with the server's reason) or the time ran out.
    """
    if until is Until.DELETED:
        project_of(ctx).get_model_serving().await_deleted(name, timeout)
        out().print(Text(f"deployment {name} is deleted"))
        return
    deployment = _deployment(ctx, name)
    with LiveStatus(deployment, "waiting for") as live:
        if until is Until.RUNNING:
            deployment.await_running(timeout, on_status=live)
        else:
            deployment.await_stopped(timeout, on_status=live)
    deployment_summary(deployment)


@app.command("start")
def start(
    ctx: typer.Context, name: NameArg, no_wait: NoWait = False, timeout: Timeout = 600
) -> None:
    """Start a stopped deployment and wait until it is RUNNING."""
    deployment = _deployment(ctx, name)
    with LiveStatus(deployment, "starting") as live:
        deployment.start(await_running=None if no_wait else timeout, on_status=live)
    deployment_summary(deployment)


@app.command("stop")
def stop(
    ctx: typer.Context, name: NameArg, no_wait: NoWait = False, timeout: Timeout = 600
) -> None:
    """Stop a deployment's replicas, keeping its configuration."""
    deployment = _deployment(ctx, name)
    with LiveStatus(deployment, "stopping") as live:
        deployment.stop(await_stopped=None if no_wait else timeout, on_status=live)
    deployment_summary(deployment)


@app.command("delete")
def delete(
    ctx: typer.Context, name: NameArg, no_wait: NoWait = False, timeout: Timeout = 600
) -> None:
    """Delete a deployment (its replicas are stopped) and wait until its name is free."""
    _deployment(ctx, name).delete(await_deleted=None if no_wait else timeout)
    out().print(Text(f"deleted deployment {name}"))


@app.command("logs")
def logs(
    ctx: typer.Context,
    name: NameArg,
    component: Annotated[str, typer.Option(help="predictor or transformer.")] = "predictor",
    tail: Annotated[int, typer.Option(help="Last lines per replica.")] = 50,
    history: Annotated[
        bool,
        typer.Option("--all", help="Also the replicas that are gone (earlier runs, revisions)."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Print the last log lines of each current replica of a component (--all: every one)."""
    lines = _deployment(ctx, name).read_logs(component, tail, current_only=not history)
    if as_json:
        print_json([{"replica": x.replica, "stream": x.stream, "line": x.line} for x in lines])
        return
    for text in format_lines(lines):
        typer.echo(text)
