"""The options of the ``deployments`` commands and their conversion to spec values.

Resource options become one ``ResourceChange`` (``shipyard.spec.overlay``: the one rule for
partial changes, shared with the SDK's ``DeploymentParams``); autoscaling and batching options
are applied over the stored values; a validation error names the option (``--batch-size``),
not the spec field. ``FLAGS`` maps spec fields to the options that set them, so that messages
shown by the CLI speak in options (``--limit-memory``, not ``limits.memory``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from shipyard.errors import InvalidInput
from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.deployment import Component
from shipyard.spec.logging import InferenceLogger, LoggerMode
from shipyard.spec.overlay import ResourceChange
from shipyard.spec.scaling import ScaleMetric, ScalingConfig

NameArg = Annotated[str, typer.Argument(help="Deployment name.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Return without waiting.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait at most.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
RESOURCES = "Resources (per instance)"
TRANSFORMER = "Transformer"
BATCHING = "Adaptive batching"


def _resource_option(text: str, panel: str = RESOURCES) -> Any:
    return typer.Option(help=text, rich_help_panel=panel)


INSTANCES_HELP = "Predictor instances; 0 = scale to zero (KSERVE and LOCAL only)."
Instances = Annotated[int, _resource_option(INSTANCES_HELP)]
Cores = Annotated[float | None, _resource_option("Requested CPU cores (0.5 = 500m); default 0.2.")]
Memory = Annotated[int | None, _resource_option("Requested memory in MiB; default 32.")]
Gpus = Annotated[int | None, _resource_option("GPUs (request = limit); default 0.")]
LimitCores = Annotated[float | None, _resource_option("CPU cores limit; default 2.")]
LimitMemory = Annotated[int | None, _resource_option("Memory limit in MiB; default 1024.")]
LimitGpus = Annotated[int | None, _resource_option("GPU limit; default: --gpus.")]
TCores = Annotated[
    float | None, _resource_option("Transformer: requested CPU cores; default 0.2.", TRANSFORMER)
]
TMemory = Annotated[
    int | None, _resource_option("Transformer: requested memory in MiB; default 32.", TRANSFORMER)
]
TLimitCores = Annotated[
    float | None, _resource_option("Transformer: CPU cores limit; default 2.", TRANSFORMER)
]
TLimitMemory = Annotated[
    int | None, _resource_option("Transformer: memory limit in MiB; default 1024.", TRANSFORMER)
]
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
MinInstances = Annotated[
    int | None, typer.Option(help="Autoscale: fewest instances (0 = scale to zero when idle).")
]
MaxInstances = Annotated[int | None, typer.Option(help="Autoscale: most instances.")]
Target = Annotated[
    float | None,
    typer.Option(help="Autoscale: in-flight requests (or requests/s with RPS) per replica."),
]
Metric = Annotated[ScaleMetric | None, typer.Option(help="Autoscale on CONCURRENCY or RPS.")]
BatchSize = Annotated[
    int | None,
    typer.Option(
        help="Most instances per model call (turns batching on).", rich_help_panel=BATCHING
    ),
]
BatchLatency = Annotated[
    float | None,
    typer.Option(help="Longest wait for a batch to fill, in ms.", rich_help_panel=BATCHING),
]

LOGGING = "Inference logging"
LogUrl = Annotated[
    str | None,
    typer.Option(help="CloudEvents receiver of requests/responses.", rich_help_panel=LOGGING),
]
LogFile = Annotated[
    str | None,
    typer.Option(
        help="JSONL file under SHIPYARD_HOME/logs/inference (relative name).",
        rich_help_panel=LOGGING,
    ),
]
LogMode = Annotated[
    LoggerMode, typer.Option(help="ALL, MODEL_INPUTS or PREDICTIONS.", rich_help_panel=LOGGING)
]
LogSampleRate = Annotated[
    float, typer.Option(help="Share of requests logged (0-1].", rich_help_panel=LOGGING)
]
ChangedLogUrl = Annotated[
    str | None,
    typer.Option(
        "--log-url",
        help="CloudEvents receiver of requests/responses ('' removes it).",
        rich_help_panel=LOGGING,
    ),
]
ChangedLogFile = Annotated[
    str | None,
    typer.Option(
        "--log-file",
        help="JSONL file under SHIPYARD_HOME/logs/inference ('' removes it).",
        rich_help_panel=LOGGING,
    ),
]
ChangedLogMode = Annotated[
    LoggerMode | None,
    typer.Option("--log-mode", help="ALL, MODEL_INPUTS or PREDICTIONS.", rich_help_panel=LOGGING),
]
ChangedLogSampleRate = Annotated[
    float | None,
    typer.Option(
        "--log-sample-rate", help="Share of requests logged (0-1].", rich_help_panel=LOGGING
    ),
]
NoLogging = Annotated[
    bool,
    typer.Option("--no-logging", help="Turn inference logging off.", rich_help_panel=LOGGING),
]

NoBatching = Annotated[
    bool,
    typer.Option("--no-batching", help="Turn adaptive batching off.", rich_help_panel=BATCHING),
]
TInstances = Annotated[
    int | None, typer.Option(help="Transformer instances.", rich_help_panel=TRANSFORMER)
]

# spec field -> the CLI option that sets it (component-relative fields apply to the predictor)
_RESOURCE_FLAGS = {
    "num_instances": "instances",
    "requests.cores": "cores",
    "requests.memory": "memory",
    "requests.gpus": "gpus",
    "limits.cores": "limit-cores",
    "limits.memory": "limit-memory",
    "limits.gpus": "limit-gpus",
}
FLAGS: dict[str, str] = {
    **{f"predictor.resources.{k}": f"--{v}" for k, v in _RESOURCE_FLAGS.items()},
    **{f"transformer.resources.{k}": f"--transformer-{v}" for k, v in _RESOURCE_FLAGS.items()},
    **{f"resources.{k}": f"--{v}" for k, v in _RESOURCE_FLAGS.items()},
    **{k: f"--{v}" for k, v in _RESOURCE_FLAGS.items() if "." in k},
    "transformer.resources.num_instances": "--transformer-instances",
    "predictor.batching.max_batch_size": "--batch-size",
    "predictor.batching.max_latency": "--batch-latency-ms",
    "max_batch_size": "--batch-size",
    "max_latency": "--batch-latency-ms",
    "predictor.scaling.min_instances": "--min-instances",
    "predictor.scaling.max_instances": "--max-instances",
    "predictor.scaling.target": "--target",
    "predictor.scaling.scale_metric": "--scale-metric",
    "predictor.model_version": "--model-version",
    "predictor.environment": "--environment",
    "predictor.script_file": "--script",
    "transformer.script_file": "--transformer",
    "serving_tool": "--serving-tool",
}
_FIELDS = re.compile(
    r"(?<![\w.-])("
    + "|".join(re.escape(f) for f in sorted(FLAGS, key=len, reverse=True))
    + r")(?![\w])"
)


def cli_terms(text: str) -> str:
    """``text`` with spec field names replaced by the CLI options that set them."""
    return _FIELDS.sub(lambda m: FLAGS[m.group(1)], text)


def resource_change(
    instances: int | None,
    requests: tuple[float | None, int | None, int | None],
    limits: tuple[float | None, int | None, int | None],
) -> ResourceChange:
    """The resource options given on the command line, as one ``ResourceChange``."""
    return ResourceChange(instances, *requests, *limits)


def scaling(
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


def inference_logger(
    url: str | None, file: str | None, mode: LoggerMode, sample_rate: float
) -> InferenceLogger | None:
    """The logger the ``--log-*`` options describe; None without ``--log-url``/``--log-file``."""
    if url is None and file is None:
        return None
    return _logger({"mode": mode, "url": url, "file": file, "sample_rate": sample_rate})


def logger_change(
    base: InferenceLogger | None,
    url: str | None,
    file: str | None,
    mode: LoggerMode | None,
    sample_rate: float | None,
) -> InferenceLogger | None:
    """``base`` with the given ``--log-*`` options applied (``''`` removes a sink); ``base``
    itself when none is given.

    Raises:
        InvalidInput: naming the option, when the result is not a valid logger (also when
            ``--log-mode``/``--log-sample-rate`` are given to a deployment that logs nowhere).
    """
    given = {"url": url, "file": file, "mode": mode, "sample_rate": sample_rate}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        return base
    data = {**(base.model_dump() if base is not None else {}), **changes}
    data["url"], data["file"] = data.get("url") or None, data.get("file") or None
    if data["url"] is None and data["file"] is None:
        what = "inference logging is off" if base is None else "that would remove every sink"
        raise InvalidInput(
            f"--log-url/--log-file: {what}; give a --log-url or a --log-file (or --no-logging "
            "to turn inference logging off)"
        )
    return _logger(data)


def _logger(data: dict[str, Any]) -> InferenceLogger:
    try:
        return InferenceLogger.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "--log-" + str(first["loc"][0] if first["loc"] else "file").replace("_", "-")
        raise InvalidInput(f"{field}: {first['msg']}") from None


def batcher(
    base: InferenceBatcher | None, size: int | None, latency_ms: float | None
) -> InferenceBatcher | None:
    """``base`` with the given batching options applied (turned on); None when none is set."""
    if size is None and latency_ms is None:
        return base
    data: dict[str, Any] = base.model_dump() if base is not None else {}
    data["enabled"] = True
    if size is not None:
        data["max_batch_size"] = size
    if latency_ms is not None:
        data["max_latency"] = latency_ms
    try:
        return InferenceBatcher.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = FLAGS.get(str(first["loc"][0]), str(first["loc"][0]))
        raise InvalidInput(f"{field}: {first['msg']}") from None
