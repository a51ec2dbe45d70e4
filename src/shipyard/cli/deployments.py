"""``shipyard deployments``: create, inspect, update, scale, start, stop, delete deployments,
show their revision history, roll back, and read logs."""

from __future__ import annotations

import warnings
from typing import Annotated, Any, TypeVar

import typer
import yaml
from pydantic import ValidationError
from rich.text import Text

from shipyard.cli._render import (
    LiveStatus,
    conditions_table,
    deployment_summary,
    deployments_table,
    environments_table,
    out,
    print_changes,
    replicas_table,
    rows_table,
    usage_table,
    when_text,
)
from shipyard.cli._resolution import print_resolution, print_warnings
from shipyard.cli._state import project_of
from shipyard.errors import InvalidInput, ModelServeError
from shipyard.sdk import Deployment, ShipyardWarning, Transformer
from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.resources import (
    ComponentResources,
    PredictorResources,
    Resources,
    TransformerResources,
)
from shipyard.spec.scaling import ScaleMetric, ScalingConfig

app = typer.Typer(help="Create and manage deployments.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Deployment name.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Return without waiting.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait at most.")]
RESOURCES = "Resources (per instance)"


def _resource_option(text: str) -> Any:
    return typer.Option(help=text, rich_help_panel=RESOURCES)


INSTANCES_HELP = "Predictor instances; 0 = scale to zero (KSERVE and LOCAL only)."
Instances = Annotated[int, _resource_option(INSTANCES_HELP)]
Cores = Annotated[float | None, _resource_option("Requested CPU cores (0.5 = 500m); default 0.2.")]
Memory = Annotated[int | None, _resource_option("Requested memory in MiB; default 32.")]
Gpus = Annotated[int | None, _resource_option("GPUs (request = limit); default 0.")]
LimitCores = Annotated[float | None, _resource_option("CPU cores limit; default 2.")]
LimitMemory = Annotated[int | None, _resource_option("Memory limit in MiB; default 1024.")]
LimitGpus = Annotated[int | None, _resource_option("GPU limit; default: --gpus.")]
EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "-e",
        help="Base environment name[:version] (see `shipyard environments list`); "
        "default: the server's interpreter, or shipyard/python with a requirements.txt.",
    ),
]
RevisionArg = Annotated[
    int, typer.Argument(help="The revision to go back to (see `shipyard deployments history`).")
]
ModelVersion = Annotated[
    int | None, typer.Option("--model-version", help="Model version to serve.")
]
ChangedInstances = Annotated[int | None, _resource_option(INSTANCES_HELP)]
ScaledInstances = Annotated[
    int, _resource_option("Instances of the component; 0 = scale to zero (KSERVE and LOCAL only).")
]
ComponentOption = Annotated[Component, typer.Option(help="The component to scale.")]
UNSET = (None, None, None)
R = TypeVar("R", bound=ComponentResources)


def _resources(
    instances: int | None,
    requests: tuple[float | None, int | None, int | None],
    limits: tuple[float | None, int | None, int | None],
    base: R,
) -> R:
    """``base`` with the options that are set: unset values keep ``base``'s, and an unset GPU
    count takes the other side's when that is set (GPU requests must equal GPU limits)."""
    req_gpus = requests[2] if requests[2] is not None else limits[2]
    lim_gpus = limits[2] if limits[2] is not None else requests[2]
    req, lim = base.requests, base.limits
    return type(base)(
        num_instances=instances if instances is not None else base.num_instances,
        requests=Resources(
            cores=requests[0] if requests[0] is not None else req.cores,
            memory=requests[1] if requests[1] is not None else req.memory,
            gpus=req_gpus if req_gpus is not None else req.gpus,
        ),
        limits=Resources(
            cores=limits[0] if limits[0] is not None else lim.cores,
            memory=limits[1] if limits[1] is not None else lim.memory,
            gpus=lim_gpus if lim_gpus is not None else lim.gpus,
        ),
    )


MinInstances = Annotated[
    int | None, typer.Option(help="Autoscale: fewest instances (0 = scale to zero when idle).")
]
MaxInstances = Annotated[int | None, typer.Option(help="Autoscale: most instances.")]
Target = Annotated[
    float | None,
    typer.Option(help="Autoscale: in-flight requests (or requests/s with RPS) per replica."),
]
Metric = Annotated[ScaleMetric | None, typer.Option(help="Autoscale on CONCURRENCY or RPS.")]


def _scaling(
    base: ScalingConfig | None,
    min_instances: int | None,
    max_instances: int | None,
    target: float | None,
    metric: ScaleMetric | None,
) -> ScalingConfig | None:
    """``base`` with the given autoscaling options applied (None when none is given or set)."""
    given = {
        "min_instances": min_instances,
        "max_instances": max_instances,
        "target": target,
        "scale_metric": metric,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return base
    data = {**(base.model_dump() if base is not None else {}), **changes}
    try:
        return ScalingConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "--" + str(first["loc"][0]).replace("_", "-")
        raise InvalidInput(f"{field}: {first['msg']}") from None


def _batcher(size: int | None, latency_ms: float | None) -> InferenceBatcher | None:
    if size is None and latency_ms is None:
        return None
    try:
        return InferenceBatcher(enabled=True, max_batch_size=size, max_latency=latency_ms)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = {"max_batch_size": "--batch-size", "max_latency": "--batch-latency-ms"}
        field = option.get(str(first["loc"][0]), str(first["loc"][0]))
        raise InvalidInput(f"{field}: {first['msg']}") from None


def _deployment(ctx: typer.Context, name: str) -> Deployment:
    return project_of(ctx).get_model_serving().get_deployment(name)


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
    batch_size: Annotated[
        int | None,
        typer.Option(help="Adaptive batching: most instances per model call (turns it on)."),
    ] = None,
    batch_latency_ms: Annotated[
        float | None,
        typer.Option(help="Adaptive batching: longest wait for a batch to fill, in ms."),
    ] = None,
    transformer: Annotated[
        str | None,
        typer.Option(
            help="Transformer script in the model (class Transformer with preprocess "
            "and postprocess)."
        ),
    ] = None,
    transformer_instances: Annotated[
        int, typer.Option(help="Transformer instances (its requests/limits: the defaults).")
    ] = 1,
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
    predictor = serving.create_predictor(
        registered,
        name=name,
        serving_tool=serving_tool,
        script_file=script,
        environment=environment,
        resources=_resources(
            instances,
            (cores, memory, gpus),
            (limit_cores, limit_memory, limit_gpus),
            base=PredictorResources(),
        ),
        scaling_configuration=_scaling(None, min_instances, max_instances, target, scale_metric),
        inference_batcher=_batcher(batch_size, batch_latency_ms),
        transformer=(
            Transformer(
                transformer,
                resources=TransformerResources(num_instances=transformer_instances),
            )
            if transformer is not None
            else None
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


def _roll_out(deployment: Deployment, action: str, what: str, wait: float | None) -> None:
    """Print what the deployment's new revision changed, then wait with the live status until
    it is RUNNING; a FAILED rollout is one error line with the server's reason."""
    revisions = deployment.get_revisions()
    current = next((r for r in revisions if r.revision == deployment.revision), revisions[-1])
    print_changes(deployment.name, current.revision, what, current.changes)
    try:
        if wait and deployment.active:
            with LiveStatus(deployment, action) as live:
                deployment.await_running(wait, on_status=live)
    except ModelServeError as exc:  # its message lists every condition; keep the reason
        raise ModelServeError(exc.message.splitlines()[0], details=exc.details) from None
    finally:
        print_warnings(deployment.resolution)
    deployment_summary(deployment)


def _save_changes(
    deployment: Deployment, before: DeploymentSpec, no_wait: bool, timeout: float
) -> None:
    """PUT the edited predictor (a new revision) unless nothing changed, then roll it out."""
    if deployment.predictor.to_spec() == before:
        line = f"deployment {deployment.name}: nothing to change (revision {deployment.revision})"
        out().print(Text(line))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShipyardWarning)  # printed after the wait, in yellow
        deployment.save(await_update=None)
    _roll_out(deployment, "updating", "updated", None if no_wait else timeout)


@app.command("history")
def history(ctx: typer.Context, name: NameArg) -> None:
    """Show every revision of a deployment's spec: when, who, and what it changed."""
    rows = [
        (str(r.revision), when_text(r.created_at), r.author or "-", r.change)
        for r in _deployment(ctx, name).get_revisions()
    ]
    out().print(rows_table(rows, "REV", "WHEN", "WHO", "CHANGE"))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: NameArg,
    revision: RevisionArg,
    no_wait: NoWait = False,
    timeout: Timeout = 600,
) -> None:
    """Make an earlier revision's spec current again (as a new revision) and wait until it is
    RUNNING."""
    deployment = _deployment(ctx, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShipyardWarning)  # printed after the wait, in yellow
        deployment.rollback(revision, await_update=None)
    what = f"rollback to revision {revision}"
    _roll_out(deployment, "rolling back", what, None if no_wait else timeout)


@app.command("scale")
def scale(
    ctx: typer.Context,
    name: NameArg,
    instances: ScaledInstances,
    component: ComponentOption = Component.PREDICTOR,
    no_wait: NoWait = False,
    timeout: Timeout = 600,
) -> None:
    """Set a component's number of instances (a new revision) and wait until it is RUNNING."""
    deployment = _deployment(ctx, name)
    predictor = deployment.predictor
    before = predictor.to_spec()
    if component is Component.TRANSFORMER:
        if predictor.transformer is None:
            raise InvalidInput(f"deployment {name!r} has no transformer to scale")
        transformer = predictor.transformer
        transformer.resources = _resources(instances, UNSET, UNSET, base=transformer.resources)
    else:
        predictor.resources = _resources(instances, UNSET, UNSET, base=predictor.resources)
    _save_changes(deployment, before, no_wait, timeout)


@app.command("update")
def update(
    ctx: typer.Context,
    name: NameArg,
    instances: ChangedInstances = None,
    cores: Cores = None,
    memory: Memory = None,
    gpus: Gpus = None,
    limit_cores: LimitCores = None,
    limit_memory: LimitMemory = None,
    limit_gpus: LimitGpus = None,
    model_version: ModelVersion = None,
    environment: EnvironmentOption = None,
    min_instances: MinInstances = None,
    max_instances: MaxInstances = None,
    target: Target = None,
    scale_metric: Metric = None,
    no_wait: NoWait = False,
    timeout: Timeout = 600,
) -> None:
    """Change only the given fields of the predictor (a new revision), print what changed and
    wait until it is RUNNING. Options not given keep their stored values (not the defaults)."""
    given = (instances, cores, memory, gpus, limit_cores, limit_memory, limit_gpus)
    autoscale = (min_instances, max_instances, target, scale_metric)
    if all(v is None for v in (*given, *autoscale, model_version, environment)):
        raise InvalidInput(
            "nothing to update: give at least one of --instances, --cores, --memory, --gpus, "
            "--limit-cores, --limit-memory, --limit-gpus, --model-version, --environment, "
            "--min-instances, --max-instances, --target, --scale-metric"
        )
    deployment = _deployment(ctx, name)
    predictor = deployment.predictor
    before = predictor.to_spec()
    predictor.resources = _resources(
        instances,
        (cores, memory, gpus),
        (limit_cores, limit_memory, limit_gpus),
        base=predictor.resources,
    )
    if model_version is not None:
        predictor.model_version = model_version
    if environment is not None:
        predictor.environment = environment
    predictor.scaling_configuration = _scaling(predictor.scaling_configuration, *autoscale)
    _save_changes(deployment, before, no_wait, timeout)
