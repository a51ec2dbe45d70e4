"""What each serving tool honours, as data, and what it would apply to a given spec.

``CAPABILITIES`` is the compatibility matrix (REFERENCE section 1, plus our ``LOCAL`` tool);
``resolve(spec)`` is a pure function that turns a ``DeploymentSpec`` into the resources the
chosen tool actually applies per component, plus a warning for every field the tool treats
differently from what was written and an error for everything it cannot honour at all. Nothing
is ever dropped silently. The API returns the resolution with every deployment (and alone on a
dry run); the backends apply it.

    tool        resources                  transformer  scale-to-zero  autoscaling  batching
    LOCAL       requests and limits        yes          yes            yes          full
    DOCKER      fixed (request = limit)    no           no             no           partial
    KUBERNETES  minimum (requests)         no           no             yes          partial
    KSERVE      requests and limits        yes          yes (Knative)  yes          full
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.spec.deployment import Component, DeploymentSpec, ServingTool
from shipyard.spec.fiddler_images import alias_message
from shipyard.spec.resources import ComponentResources, Resources
from shipyard.spec.scaling import ScalingConfig
from shipyard.spec.units import cores_text, memory_text, normalize_cores
from shipyard.spec.validation import FieldError


class ResourceMode(StrEnum):
    """How a serving tool treats requests and limits."""

    FIXED = "fixed"  # reserves one amount: the limit is applied as request and limit
    MINIMUM = "minimum"  # reserves the request; limits are not applied
    MIN_MAX = "min_max"  # reserves the request and enforces the limit

    @property
    def text(self) -> str:
        """For people: ``"fixed (request = limit)"``."""
        return {
            ResourceMode.FIXED: "fixed (request = limit)",
            ResourceMode.MINIMUM: "minimum (requests only)",
            ResourceMode.MIN_MAX: "minimum and maximum (requests and limits)",
        }[self]


class Batching(StrEnum):
    """How much of inference batching a serving tool supports."""

    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


@dataclass(frozen=True)
class Capabilities:
    """One row of the compatibility matrix."""

    resources: ResourceMode
    transformer: bool
    scale_to_zero: bool
    autoscaling: bool
    batching: Batching


CAPABILITIES: MappingProxyType[ServingTool, Capabilities] = MappingProxyType(
    {
        ServingTool.LOCAL: Capabilities(ResourceMode.MIN_MAX, True, True, True, Batching.FULL),
        ServingTool.DOCKER: Capabilities(ResourceMode.FIXED, False, False, False, Batching.PARTIAL),
        ServingTool.KUBERNETES: Capabilities(
            ResourceMode.MINIMUM, False, False, True, Batching.PARTIAL
        ),
        # scale-to-zero on KServe needs its Knative (serverless) mode, which we deploy with
        ServingTool.KSERVE: Capabilities(ResourceMode.MIN_MAX, True, True, True, Batching.FULL),
    }
)


def tools_with(feature: str) -> str:
    """The tools whose capability ``feature`` is true, for messages: ``"KSERVE or LOCAL"``."""
    names = sorted(tool.value for tool, caps in CAPABILITIES.items() if getattr(caps, feature))
    return " or ".join(names)


@dataclass(frozen=True)
class FieldWarning:
    """A field the serving tool applies differently from what was written (not an error)."""

    field: str
    value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "message": self.message}


class ResolvedComponent(BaseModel):
    """What the serving tool applies to one component; ``None`` = not applied by the tool.

    Units: ``cores`` in CPU cores (whole millicpus), ``memory`` in MiB, ``gpus`` whole devices.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    component: Component
    instances: int
    requests: Resources | None
    limits: Resources | None
    applied: str


class Resolution(BaseModel):
    """The outcome of ``resolve``: per-component resources, warnings and errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serving_tool: ServingTool
    components: list[ResolvedComponent]
    warnings: list[FieldWarning]
    errors: list[FieldError]
    objects: list[dict[str, Any]] = Field(
        default_factory=list,
        description="On a dry run for KUBERNETES or KSERVE: the exact objects that would be "
        "applied (schema-validated), with placeholders for what exists only once applied.",
    )

    def component(self, component: Component | str) -> ResolvedComponent | None:
        """The resolved ``component``, or None when the spec has none (or it was refused)."""
        return next((c for c in self.components if c.component == component), None)


def resources_text(r: Resources, sep: str = " / ") -> str:
    """``0.5 cores / 256 MiB`` (GPUs only when there are some)."""
    parts = [cores_text(r.cores), memory_text(r.memory)]
    if r.gpus:
        parts.append(f"{r.gpus} GPU" + ("" if r.gpus == 1 else "s"))
    return sep.join(parts)


def _exact(r: Resources) -> Resources:
    return Resources(cores=normalize_cores(r.cores), memory=r.memory, gpus=r.gpus)


def tools_with_limits() -> str:
    """The tools that enforce limits as well as requests: ``"KSERVE or LOCAL"``."""
    names = sorted(t.value for t, c in CAPABILITIES.items() if c.resources is ResourceMode.MIN_MAX)
    return " or ".join(names)


def _scaling_errors(
    tool: ServingTool, component: Component, scaling: ScalingConfig | None
) -> list[FieldError]:
    caps = CAPABILITIES[tool]
    path = f"{component.value}.scaling"
    if scaling is None:
        return []
    if not caps.autoscaling:
        msg = (
            f"serving tool {tool.value} cannot autoscale the {component.value}: autoscaling "
            f"needs {tools_with('autoscaling')}; remove scaling and set num_instances"
        )
        return [FieldError(path, scaling.model_dump(mode="json"), msg)]
    if scaling.min_instances == 0 and not caps.scale_to_zero:
        msg = (
            f"serving tool {tool.value} cannot scale the {component.value} to zero: "
            f"scale-to-zero needs {tools_with('scale_to_zero')}; use min_instances 1 or more"
        )
        return [FieldError(f"{path}.min_instances", 0, msg)]
    return []


def _resolve_component(
    tool: ServingTool,
    component: Component,
    res: ComponentResources,
    warnings: list[FieldWarning],
    errors: list[FieldError],
    scaling: ScalingConfig | None = None,
) -> ResolvedComponent:
    caps = CAPABILITIES[tool]
    errors += _scaling_errors(tool, component, scaling)
    path = f"{component.value}.resources"
    requests, limits = _exact(res.requests), _exact(res.limits)
    if res.num_instances == 0 and not caps.scale_to_zero:
        msg = (
            f"serving tool {tool.value} cannot scale the {component.value} to zero: "
            f"scale-to-zero needs {tools_with('scale_to_zero')}; use 1 or more instances"
        )
        errors.append(FieldError(f"{path}.num_instances", 0, msg))
    applied_requests: Resources | None = requests
    applied_limits: Resources | None = limits
    if caps.resources is ResourceMode.FIXED:
        if requests != limits:
            msg = (
                f"{tool.value} reserves fixed resources: the request "
                f"({resources_text(requests, ', ')}) is raised to the limit "
                f"({resources_text(limits, ', ')})"
            )
            warnings.append(FieldWarning(f"{path}.requests", requests.model_dump(), msg))
        applied_requests = limits
        applied = f"fixed {resources_text(limits)} (request = limit)"
    elif caps.resources is ResourceMode.MINIMUM:
        msg = (
            f"{tool.value} honours minimum resources only: the limit "
            f"({resources_text(limits, ', ')}) is not applied, only the request "
            f"({resources_text(requests, ', ')}) is reserved; "
            f"use {tools_with_limits()} to enforce limits"
        )
        warnings.append(FieldWarning(f"{path}.limits", limits.model_dump(), msg))
        applied_limits = None
        applied = (
            f"requests {resources_text(requests)}, "
            f"no limits ({tool.value} honours minimum resources only)"
        )
    else:
        applied = f"requests {resources_text(requests)}, limits {resources_text(limits)}"
    return ResolvedComponent(
        component=component,
        instances=res.num_instances,
        requests=applied_requests,
        limits=applied_limits,
        applied=applied,
    )


def alias_warnings(spec: DeploymentSpec) -> list[FieldWarning]:
    """One warning per component whose ``environment`` is one of Fiddler's image names."""
    components = [("predictor", spec.predictor.environment)]
    if spec.transformer is not None:
        components.append(("transformer", spec.transformer.environment))
    out = []
    for component, environment in components:
        message = alias_message(environment) if environment else None
        if message is not None:
            out.append(FieldWarning(f"{component}.environment", environment, message))
    return out


def resolve(spec: DeploymentSpec) -> Resolution:
    """What ``spec.serving_tool`` would apply to ``spec``, with warnings and errors.

    Pure: nothing is checked against a server (see ``validation.backend_errors`` for that), and
    value problems (negative sizes, request above limit) are ``validation.spec_errors``'s job;
    call both before accepting a spec.

    Args:
        spec: The deployment spec to resolve.

    Returns:
        The ``Resolution``: one ``ResolvedComponent`` per component the tool can run (a refused
        transformer has none), a ``FieldWarning`` per field applied differently from what was
        written, and a ``FieldError`` per field the tool cannot honour.
    """
    tool = spec.serving_tool
    warnings: list[FieldWarning] = []
    errors: list[FieldError] = []
    p = spec.predictor
    components = [
        _resolve_component(tool, Component.PREDICTOR, p.resources, warnings, errors, p.scaling)
    ]
    if spec.transformer is not None:
        if CAPABILITIES[tool].transformer:
            t = spec.transformer
            components.append(
                _resolve_component(
                    tool, Component.TRANSFORMER, t.resources, warnings, errors, t.scaling
                )
            )
        else:
            msg = (
                f"serving tool {tool.value} cannot run a transformer: transformers need "
                f"{tools_with('transformer')}; pick one of those or remove the transformer"
            )
            errors.append(FieldError("transformer", spec.transformer.script_file, msg))
    warnings += alias_warnings(spec)
    return Resolution(serving_tool=tool, components=components, warnings=warnings, errors=errors)
