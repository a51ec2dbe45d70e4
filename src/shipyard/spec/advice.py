"""Right-sizing advice as the API, SDK and CLI show it: per component, a recommended request
and limit for cores and memory with the evidence behind it and the effect it would have.

Layer: ``shipyard.spec``. Computed by ``controller.advice.advise`` (pure) from the usage
history; ``GET /deployments/{name}/advice`` answers a ``DeploymentAdvice``; the SDK's
``Deployment.get_advice()`` and ``shipyard deployments status`` read it. Advice is never
applied by Shipyard: ``command`` and ``sdk`` say how to apply it as a normal update.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shipyard.spec.resources import Resources


class Percentiles(BaseModel):
    """Observed use of one measure over the window (cores or MiB)."""

    model_config = ConfigDict(frozen=True)

    p50: float
    p95: float
    max: float


class Evidence(BaseModel):
    """What the advice rests on."""

    model_config = ConfigDict(frozen=True)

    since: float = Field(description="Start of the window, seconds since the epoch.")
    until: float = Field(description="End of the window, seconds since the epoch.")
    samples: int = Field(description="Samples of usage in the window (all replicas).")
    replicas: int = Field(description="Replicas seen in the window.")
    cpu_cores: Percentiles | None = Field(description="Cores used (None: not measured).")
    memory_mb: Percentiles | None = Field(description="Resident memory, MiB (None: not measured).")
    memory_peak_mb: float | None = Field(description="Highest resident memory seen, MiB.")
    oom_kills: int = Field(description="OOM kills in the window.")
    throttled_fraction: float | None = Field(
        description="Share of CPU periods in which the limit stopped the replica (None: the "
        "backend does not measure it)."
    )


class ComponentAdvice(BaseModel):
    """The advice for one component; ``enough_data`` False means nothing is recommended."""

    model_config = ConfigDict(frozen=True)

    component: str
    enough_data: bool
    current_requests: Resources
    current_limits: Resources
    requests: Resources | None = Field(description="Recommended request (None: keep).")
    limits: Resources | None = Field(description="Recommended limit (None: keep).")
    reasons: list[str] = Field(description="Why, one sentence per measure.")
    effects: list[str] = Field(description="What applying it would change.")
    evidence: Evidence
    command: str = Field(description="The CLI command that applies it ('' when none).")
    sdk: str = Field(description="The SDK call that applies it ('' when none).")


class DeploymentAdvice(BaseModel):
    """Right-sizing advice for every component of one deployment."""

    model_config = ConfigDict(frozen=True)

    deployment: str
    components: list[ComponentAdvice]
