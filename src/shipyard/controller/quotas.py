"""Quota checks of a project's deployments (issue 18): pure functions the one validation path
(:class:`~shipyard.controller.validation.SpecValidator`) calls.

A deployment reserves, per component, its requests times its most instances (its autoscaling
``max_instances``, else ``num_instances``, at least 1): the sum over the project's other
deployments plus the new spec may not exceed any limit of the project's :class:`Quota`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.quota import Quota
from shipyard.spec.resources import ComponentResources
from shipyard.spec.scaling import ScalingConfig, effective_scaling
from shipyard.spec.validation import FieldError


@dataclass(frozen=True)
class Reserved:
    """What deployments reserve together."""

    cores: float = 0.0
    memory: int = 0
    gpus: int = 0
    instances: int = 0

    def __add__(self, other: Reserved) -> Reserved:
        return Reserved(
            self.cores + other.cores,
            self.memory + other.memory,
            self.gpus + other.gpus,
            self.instances + other.instances,
        )


_LIMITS = (
    ("cores", "cores", "predictor.resources.requests.cores"),
    ("memory", "MiB of memory", "predictor.resources.requests.memory"),
    ("gpus", "GPUs", "predictor.resources.requests.gpus"),
    ("instances", "instances", "predictor.resources.num_instances"),
)
"""Each quota limit: its name, its unit in messages, the spec field it is reported on."""


def reserved(spec: DeploymentSpec) -> Reserved:
    """What one deployment reserves at most."""
    out = Reserved()
    parts: list[tuple[ComponentResources, ScalingConfig | None]] = [
        (spec.predictor.resources, spec.predictor.scaling)
    ]
    if spec.transformer is not None:
        parts.append((spec.transformer.resources, spec.transformer.scaling))
    for resources, scaling in parts:
        config = effective_scaling(resources, scaling)
        count = max(1, config.max_instances if config is not None else resources.num_instances)
        r = resources.requests
        out = out + Reserved(r.cores * count, r.memory * count, r.gpus * count, count)
    return out


def quota_errors(
    quota: Quota, spec: DeploymentSpec, others: Iterable[DeploymentSpec]
) -> list[FieldError]:
    """Each limit of ``quota`` the project's deployments (``others``) plus ``spec`` exceed."""
    held = sum((reserved(o) for o in others), Reserved())
    new = reserved(spec)
    errors = []
    for name, unit, field in _LIMITS:
        limit = getattr(quota, name)
        used, wanted = getattr(held, name), getattr(new, name)
        if limit is None or used + wanted <= limit + 1e-9:
            continue
        message = (
            f"the project's quota of {limit:g} {unit} would be exceeded: this deployment "
            f"reserves {wanted:g}, its other deployments {used:g} (requests x most instances); "
            "lower them, or ask an administrator to raise the quota"
        )
        errors.append(FieldError(field, wanted, message))
    return errors
