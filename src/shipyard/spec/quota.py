"""A project's quota: the most cores, memory, GPUs and instances its deployments may reserve.

Layer: ``shipyard.spec`` (a value the store keeps, the API shows and sets, the controller's
:class:`~shipyard.controller.validation.SpecValidator` checks). None = no limit. What counts is
a deployment's requests times its most instances (``max_instances`` when it autoscales).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Quota(BaseModel):
    """Limits over all of a project's deployments together (None: unlimited)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cores: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    memory: int | None = Field(default=None, ge=0, le=1 << 30, description="MiB")
    gpus: int | None = Field(default=None, ge=0, le=1024)
    instances: int | None = Field(default=None, ge=0, le=10_000)
