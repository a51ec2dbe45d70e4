"""``shipyard deployments update|scale|history|rollback``: change a deployment's spec (a new
revision), show its revisions, go back to one.

Each change reads the stored spec, applies only the options given (resources through the one
overlay rule, ``shipyard.spec.overlay``), prints what changed and waits for the new revision.
"""

from __future__ import annotations

import warnings

import typer
from rich.text import Text

from shipyard.cli._options import (
    BatchLatency,
    BatchSize,
    ChangedInstances,
    ChangedLogFile,
    ChangedLogMode,
    ChangedLogSampleRate,
    ChangedLogUrl,
    ComponentOption,
    Cores,
    EnvironmentOption,
    Gpus,
    Json,
    LimitCores,
    LimitGpus,
    LimitMemory,
    MaxInstances,
    Memory,
    Metric,
    MinInstances,
    ModelVersion,
    NameArg,
    NoBatching,
    NoLogging,
    NoWait,
    RevisionArg,
    ScaledInstances,
    Target,
    TCores,
    Timeout,
    TInstances,
    TLimitCores,
    TLimitMemory,
    TMemory,
    batcher,
    logger_change,
    resource_change,
    scaling,
)
from shipyard.cli._render import (
    LiveStatus,
    deployment_summary,
    out,
    print_changes,
    print_json,
    revision_json,
    rows_table,
    when_text,
)
from shipyard.cli._resolution import print_warnings
from shipyard.cli._state import project_of
from shipyard.errors import InvalidInput, ModelServeError
from shipyard.sdk import Deployment, ShipyardWarning
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.logging import LoggerMode
from shipyard.spec.overlay import ResourceChange


def _deployment(ctx: typer.Context, name: str) -> Deployment:
    return project_of(ctx).get_model_serving().get_deployment(name)


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


def history(ctx: typer.Context, name: NameArg, as_json: Json = False) -> None:
    """Show every revision of a deployment's spec: when, who, and what it changed."""
    revisions = _deployment(ctx, name).get_revisions()
    if as_json:
        print_json([revision_json(r) for r in revisions])
        return
    rows = [
        (str(r.revision), when_text(r.created_at), r.author or "-", r.change) for r in revisions
    ]
    out().print(rows_table(rows, "REV", "WHEN", "WHO", "CHANGE"))


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
    change = ResourceChange(instances=instances)
    if component is Component.TRANSFORMER:
        if predictor.transformer is None:
            raise InvalidInput(f"deployment {name!r} has no transformer to scale")
        predictor.transformer.resources = change.apply(predictor.transformer.resources)
    else:
        predictor.resources = change.apply(predictor.resources)
    _save_changes(deployment, before, no_wait, timeout)


def _apply_resources(
    deployment: Deployment, predictor: ResourceChange, transformer: ResourceChange
) -> None:
    deployment.predictor.resources = predictor.apply(deployment.predictor.resources)
    if transformer.empty:
        return
    current = deployment.predictor.transformer
    if current is None:
        raise InvalidInput(
            f"deployment {deployment.name!r} has no transformer: the --transformer-* options "
            "do not apply"
        )
    current.resources = transformer.apply(current.resources)


def _apply_batching(
    deployment: Deployment, off: bool, size: int | None, latency_ms: float | None
) -> None:
    predictor = deployment.predictor
    if off:
        if size is not None or latency_ms is not None:
            raise InvalidInput("--no-batching cannot go with --batch-size or --batch-latency-ms")
        predictor.inference_batcher = None
        return
    predictor.inference_batcher = batcher(predictor.inference_batcher, size, latency_ms)


LoggerOptions = tuple[str | None, str | None, LoggerMode | None, float | None]
"""``--log-url``, ``--log-file``, ``--log-mode``, ``--log-sample-rate`` as given (None: not)."""


def _apply_logging(deployment: Deployment, off: bool, logger: LoggerOptions) -> None:
    predictor = deployment.predictor
    if off:
        if any(v is not None for v in logger):
            raise InvalidInput("--no-logging cannot go with --log-url, --log-file, --log-mode "
                               "or --log-sample-rate")  # fmt: skip
        predictor.inference_logger = None
        return
    predictor.inference_logger = logger_change(predictor.inference_logger, *logger)


UPDATE_OPTIONS = (
    "--instances, --cores, --memory, --gpus, --limit-cores, --limit-memory, --limit-gpus, "
    "--model-version, --environment, --min-instances, --max-instances, --target, "
    "--scale-metric, --batch-size, --batch-latency-ms, --no-batching, --transformer-instances, "
    "--transformer-cores, --transformer-memory, --transformer-limit-cores, "
    "--transformer-limit-memory, --log-url, --log-file, --log-mode, --log-sample-rate, "
    "--no-logging"
)


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
    batch_size: BatchSize = None,
    batch_latency_ms: BatchLatency = None,
    no_batching: NoBatching = False,
    log_url: ChangedLogUrl = None,
    log_file: ChangedLogFile = None,
    log_mode: ChangedLogMode = None,
    log_sample_rate: ChangedLogSampleRate = None,
    no_logging: NoLogging = False,
    transformer_instances: TInstances = None,
    transformer_cores: TCores = None,
    transformer_memory: TMemory = None,
    transformer_limit_cores: TLimitCores = None,
    transformer_limit_memory: TLimitMemory = None,
    no_wait: NoWait = False,
    timeout: Timeout = 600,
) -> None:
    """Change only the given fields (a new revision), print what changed and wait until it is
    RUNNING. Options not given keep their stored values (not the defaults)."""
    predictor_change = resource_change(
        instances, (cores, memory, gpus), (limit_cores, limit_memory, limit_gpus)
    )
    transformer_change = resource_change(
        transformer_instances,
        (transformer_cores, transformer_memory, None),
        (transformer_limit_cores, transformer_limit_memory, None),
    )
    autoscale = (min_instances, max_instances, target, scale_metric)
    logging: LoggerOptions = (log_url, log_file, log_mode, log_sample_rate)
    others = (*autoscale, *logging, model_version, environment, batch_size, batch_latency_ms)
    if (
        predictor_change.empty
        and transformer_change.empty
        and not (no_batching or no_logging)
        and all(v is None for v in others)
    ):
        raise InvalidInput(f"nothing to update: give at least one of {UPDATE_OPTIONS}")
    deployment = _deployment(ctx, name)
    before = deployment.predictor.to_spec()
    _apply_resources(deployment, predictor_change, transformer_change)
    predictor = deployment.predictor
    if model_version is not None:
        predictor.model_version = model_version
    if environment is not None:
        predictor.environment = environment
    predictor.scaling_configuration = scaling(predictor.scaling_configuration, *autoscale)
    _apply_batching(deployment, no_batching, batch_size, batch_latency_ms)
    _apply_logging(deployment, no_logging, logging)
    _save_changes(deployment, before, no_wait, timeout)
