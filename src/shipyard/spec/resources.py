"""Resources of one deployment component, in the Hopsworks shape.

Units (stated everywhere): ``cores`` in CPU cores (fractional allowed: 0.25 = 250 millicpus),
``memory`` in MiB (Hopsworks calls this unit "MB" and renders it to Kubernetes as ``Mi``;
Fiddler's ``memory`` is MiB too, so both map one to one), ``gpus`` a whole number of devices.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_REQUEST_CORES = 0.2
DEFAULT_REQUEST_MEMORY_MB = 32
DEFAULT_LIMIT_CORES = 2.0
DEFAULT_LIMIT_MEMORY_MB = 1024


class Resources(BaseModel):
    """CPU cores, memory (MiB) and GPUs of one instance: a request (minimum) or a limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cores: float = Field(
        description="CPU cores per instance; fractional allowed (0.5 = 500m).",
        allow_inf_nan=False,
        le=100_000,
    )
    memory: int = Field(description="Memory per instance in MiB (Hopsworks 'MB').", le=1 << 30)
    gpus: int = Field(default=0, description="Whole GPUs per instance.", le=1024)

    def __init__(
        self, cores: float | None = None, memory: int | None = None, gpus: int = 0, **data: Any
    ) -> None:
        if cores is not None:
            data["cores"] = cores
        if memory is not None:
            data["memory"] = memory
        super().__init__(gpus=gpus, **data)

    @property
    def millicpus(self) -> int:
        return round(self.cores * 1000)


def default_requests() -> Resources:
    return Resources(cores=DEFAULT_REQUEST_CORES, memory=DEFAULT_REQUEST_MEMORY_MB, gpus=0)


def default_limits() -> Resources:
    return Resources(cores=DEFAULT_LIMIT_CORES, memory=DEFAULT_LIMIT_MEMORY_MB, gpus=0)


class ComponentResources(BaseModel):
    """Instances, requests and limits of one component (predictor or transformer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_instances: int = Field(default=1, description="Instances to run; 0 = scale to zero.")
    requests: Resources = Field(default_factory=default_requests)
    limits: Resources = Field(default_factory=default_limits)

    def __init__(
        self,
        num_instances: int | None = None,
        requests: Resources | None = None,
        limits: Resources | None = None,
        **data: Any,
    ) -> None:
        if num_instances is not None:
            data["num_instances"] = num_instances
        if requests is not None:
            data["requests"] = requests
        if limits is not None:
            data["limits"] = limits
        super().__init__(**data)


class PredictorResources(ComponentResources):
    """Resources of the predictor component."""


class TransformerResources(ComponentResources):
    """Resources of the transformer component."""
