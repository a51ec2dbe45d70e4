"""Checks of a deployment spec that span fields, with messages that name field, value and fix.

Pydantic checks types and shapes; this module checks values (positive sizes, whole millicpus,
request within limit, GPU request equal to the limit) and whether this server has a backend for
the chosen serving tool. What each serving tool can honour (transformer, scale-to-zero, fixed or
minimum resources) is decided by ``spec.tools.resolve``. Every problem is reported at once, each
as a ``FieldError`` whose ``field`` is the dotted path in the spec (``predictor.resources.limits``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import NAME_PATTERN, NAME_RULE, DeploymentSpec, ServingTool
from shipyard.spec.resources import ComponentResources
from shipyard.spec.scaling import ScalingConfig
from shipyard.spec.units import is_whole_millicpus

IMPLEMENTED_TOOLS = frozenset({ServingTool.LOCAL})
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MODEL_NAME_RULE = "letters, digits, '_' and '-', 1 to 63 characters"


@dataclass(frozen=True)
class FieldError:
    field: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "message": self.message}


MIN_CORES = 0.001
MAX_CORES = 100_000
MAX_MEMORY_MB = 1 << 30  # a petabyte (MiB)
MAX_GPUS = 1024
MAX_INSTANCES = 10_000


def resource_errors(path: str, res: ComponentResources) -> list[FieldError]:
    """Problems with one component's instances, requests and limits (units in every message)."""
    out: list[FieldError] = []
    if not 0 <= res.num_instances <= MAX_INSTANCES:
        msg = f"must be 0 to {MAX_INSTANCES}"
        out.append(FieldError(f"{path}.num_instances", res.num_instances, msg))
    for kind in ("requests", "limits"):
        r = getattr(res, kind)
        if not math.isfinite(r.cores) or not 0 < r.cores <= MAX_CORES:
            msg = (
                f"CPU cores must be greater than 0 and at most {MAX_CORES} (fractions allowed, "
                "e.g. 0.5 = 500 millicpus)"
            )
            out.append(FieldError(f"{path}.{kind}.cores", r.cores, msg))
        elif not is_whole_millicpus(r.cores):
            msg = (
                "CPU cores must be a whole number of millicpus (a multiple of 0.001 cores, "
                "e.g. 0.25 = 250m)"
            )
            out.append(FieldError(f"{path}.{kind}.cores", r.cores, msg))
        elif r.cores < MIN_CORES:  # a whole number of millicpus: zero of them
            msg = f"CPU cores must be at least {MIN_CORES} (1 millicpu)"
            out.append(FieldError(f"{path}.{kind}.cores", r.cores, msg))
        if not 0 < r.memory <= MAX_MEMORY_MB:
            msg = f"memory (MiB) must be from 1 to {MAX_MEMORY_MB}"
            out.append(FieldError(f"{path}.{kind}.memory", r.memory, msg))
        if not 0 <= r.gpus <= MAX_GPUS:
            msg = f"GPUs must be from 0 to {MAX_GPUS}"
            out.append(FieldError(f"{path}.{kind}.gpus", r.gpus, msg))
    if out:
        return out  # the comparisons below assume each value in range
    req, lim = res.requests, res.limits
    if 0 < lim.cores < req.cores:
        msg = (
            f"requested {req.cores:g} cores is above the limit of {lim.cores:g} cores: "
            "raise the limit or lower the request"
        )
        out.append(FieldError(f"{path}.requests.cores", req.cores, msg))
    if 0 < lim.memory < req.memory:
        msg = (
            f"requested {req.memory} MiB is above the limit of {lim.memory} MiB: "
            "raise the limit or lower the request"
        )
        out.append(FieldError(f"{path}.requests.memory", req.memory, msg))
    if req.gpus != lim.gpus:
        msg = f"GPU request ({req.gpus}) must equal the GPU limit ({lim.gpus}): GPUs are not shared"
        out.append(FieldError(f"{path}.requests.gpus", req.gpus, msg))
    return out


def scaling_errors(
    path: str, resources: ComponentResources, scaling: ScalingConfig | None
) -> list[FieldError]:
    """Problems of one component's autoscaling settings."""
    if scaling is None:
        return []
    out: list[FieldError] = []
    if scaling.min_instances > scaling.max_instances:
        msg = (
            f"min_instances ({scaling.min_instances}) is above max_instances "
            f"({scaling.max_instances}): raise max_instances or lower min_instances"
        )
        out.append(FieldError(f"{path}.min_instances", scaling.min_instances, msg))
    if scaling.panic_window_s > scaling.stable_window_s:
        msg = (
            f"the panic window ({scaling.panic_window_s:g} s) must not be longer than the "
            f"stable window ({scaling.stable_window_s:g} s)"
        )
        out.append(FieldError(f"{path}.panic_window_s", scaling.panic_window_s, msg))
    n = resources.num_instances
    if not scaling.min_instances <= n <= scaling.max_instances:
        msg = (
            f"the initial num_instances ({n}) must lie between min_instances "
            f"({scaling.min_instances}) and max_instances ({scaling.max_instances})"
        )
        out.append(FieldError(f"{path.rsplit('.', 1)[0]}.resources.num_instances", n, msg))
    return out


def spec_errors(spec: DeploymentSpec) -> list[FieldError]:
    """Value problems of a spec, whatever the serving tool (see ``spec.tools.resolve`` for those
    that depend on the tool)."""
    out = resource_errors("predictor.resources", spec.predictor.resources)
    out += scaling_errors("predictor.scaling", spec.predictor.resources, spec.predictor.scaling)
    if spec.transformer is not None:
        t = spec.transformer
        out += resource_errors("transformer.resources", t.resources)
        out += scaling_errors("transformer.scaling", t.resources, t.scaling)
        if spec.transformer.resources.num_instances == 0:
            msg = "a transformer needs at least 1 instance"
            out.append(FieldError("transformer.resources.num_instances", 0, msg))
    return out


def backend_errors(
    spec: DeploymentSpec, tools: frozenset[ServingTool] = IMPLEMENTED_TOOLS
) -> list[FieldError]:
    """Why this server cannot run ``spec`` for real (a dry run does not need a backend);
    ``tools`` are the serving tools it has a backend for."""
    out: list[FieldError] = []
    if spec.serving_tool not in tools:
        msg = (
            f"serving tool {spec.serving_tool.value} has no backend on this server yet; "
            f"use one of: {', '.join(sorted(t.value for t in tools))}"
        )
        out.append(FieldError("serving_tool", spec.serving_tool.value, msg))
    return out


def raise_for(errors: list[FieldError], what: str = "deployment spec") -> None:
    """Raise one ``InvalidSpec`` listing every problem, if there is any."""
    if errors:
        text = "; ".join(f"{e.field}={e.value!r}: {e.message}" for e in errors)
        raise InvalidSpec(
            f"invalid {what}: {text}", details={"errors": [e.as_dict() for e in errors]}
        )


def check_model_name(name: str) -> None:
    """Raise ``InvalidSpec`` unless ``name`` is a valid model name."""
    if not MODEL_NAME_PATTERN.match(name):
        msg = f"use {MODEL_NAME_RULE}"
        raise_for([FieldError("name", name, msg)], "model name")


def check_project_name(name: str) -> None:
    """Raise ``InvalidSpec`` unless ``name`` follows the project (= deployment) naming rule."""
    if not NAME_PATTERN.match(name):
        raise_for([FieldError("name", name, f"use {NAME_RULE}")], "project name")
