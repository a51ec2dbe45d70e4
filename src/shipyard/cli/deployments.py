"""``shipyard deployments``: create, inspect, start, stop, delete deployments and read logs."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

import typer
from rich.text import Text

from shipyard.cli._render import (
    LiveStatus,
    conditions_table,
    deployment_summary,
    deployments_table,
    environments_table,
    out,
    replicas_table,
    usage_table,
)
from shipyard.cli._resolution import print_resolution, print_warnings
from shipyard.cli._state import project_of
from shipyard.sdk import Deployment, ShipyardWarning
from shipyard.spec.resources import PredictorResources, Resources, default_limits, default_requests

app = typer.Typer(help="Create and manage deployments.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Deployment name.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Return without waiting.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait at most.")]
RESOURCES = "Resources (per instance)"


def _resource_option(text: str) -> Any:
    return typer.Option(help=text, rich_help_panel=RESOURCES)


Instances = Annotated[
    int, _resource_option("Predictor instances; 0 = scale to zero (KSERVE and LOCAL only).")
]
Cores = Annotated[float | None, _resource_option("Requested CPU cores (0.5 = 500m); default 0.2.")]
Memory = Annotated[int | None, _resource_option("Requested memory in MiB; default 32.")]
Gpus = Annotated[int | None, _resource_option("GPUs (request = limit); default 0.")]
LimitCores = Annotated[float | None, _resource_option("CPU cores limit; default 2.")]
LimitMemory = Annotated[int | None, _resource_option("Memory limit in MiB; default 1024.")]
LimitGpus = Annotated[int | None, _resource_option("GPU limit; default: --gpus.")]


def _resources(
    instances: int,
    requests: tuple[float | None, int | None, int | None],
    limits: tuple[float | None, int | None, int | None],
) -> PredictorResources:
    """Requests and limits from the options; unset values take the defaults, and an unset GPU
    count takes the other side's (GPU requests must equal GPU limits)."""
    base_req, base_lim = default_requests(), default_limits()
    req_gpus = requests[2] if requests[2] is not None else limits[2]
    lim_gpus = limits[2] if limits[2] is not None else requests[2]
    return PredictorResources(
        num_instances=instances,
        requests=Resources(
            cores=requests[0] if requests[0] is not None else base_req.cores,
            memory=requests[1] if requests[1] is not None else base_req.memory,
            gpus=req_gpus or 0,
        ),
        limits=Resources(
            cores=limits[0] if limits[0] is not None else base_lim.cores,
            memory=limits[1] if limits[1] is not None else base_lim.memory,
            gpus=lim_gpus or 0,
        ),
    )


def _deployment(ctx: typer.Context, name: str) -> Deployment:
    return project_of(ctx).get_model_serving().get_deployment(name)


@app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    model: Annotated[str, typer.Option("--model", "-m", help="Model name.")],
    version: Annotated[int | None, typer.Option(help="Model version; default: latest.")] = None,
    script: Annotated[str | None, typer.Option(help="Predictor script in the model.")] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            "-e",
            help="Base environment name[:version] (see `shipyard environments list`); "
            "default: the server's interpreter, or shipyard/python with a requirements.txt.",
        ),
    ] = None,
    instances: Instances = 1,
    cores: Cores = None,
    memory: Memory = None,
    gpus: Gpus = None,
    limit_cores: LimitCores = None,
    limit_memory: LimitMemory = None,
    limit_gpus: LimitGpus = None,
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
    no_wait: NoWait = False,
    timeout: Timeout = 600,
) -> None:
    """Deploy a model version and wait until it is RUNNING (or FAILED).

    With --dry-run: show what the serving tool would apply per component; create nothing.
    """
    project = project_of(ctx)
    registered = project.get_model_registry().get_model(model, version)
    serving = project.get_model_serving()
    predictor = serving.create_predictor(
        registered,
        name=name,
        serving_tool=serving_tool,
        script_file=script,
        environment=environment,
        resources=_resources(
            instances, (cores, memory, gpus), (limit_cores, limit_memory, limit_gpus)
        ),
    )
    deployment = serving.create_deployment(predictor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShipyardWarning)  # printed below, in yellow
        if dry_run:
            resolution = deployment.dry_run()
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
def list_deployments(ctx: typer.Context) -> None:
    """List the deployments of the project."""
    out().print(deployments_table(project_of(ctx).get_model_serving().get_deployments()))


@app.command("status")
def status(ctx: typer.Context, name: NameArg) -> None:
    """Show state, conditions, replicas (phase, pid, restarts, last exit) and their usage."""
    deployment = _deployment(ctx, name)
    deployment_summary(deployment)
    current = deployment.status or deployment.get_state()
    console = out()
    if current.conditions:
        console.print()
        console.print(conditions_table(current))
    if current.replicas:
        console.print()
        console.print(replicas_table(current))
    envs = environments_table(current)
    if envs is not None:
        console.print()
        console.print(envs)
    usage = usage_table(current)
    if usage is not None:
        console.print()
        console.print(usage)
    for note in current.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


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
def delete(ctx: typer.Context, name: NameArg) -> None:
    """Delete a deployment (its replicas are stopped)."""
    _deployment(ctx, name).delete()
    out().print(Text(f"deleted deployment {name}"))


@app.command("logs")
def logs(
    ctx: typer.Context,
    name: NameArg,
    component: Annotated[str, typer.Option(help="predictor or transformer.")] = "predictor",
    tail: Annotated[int, typer.Option(help="Last lines per replica.")] = 50,
) -> None:
    """Print the last log lines of each replica of a component."""
    _deployment(ctx, name).get_logs(component, tail)
