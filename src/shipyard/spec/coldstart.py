"""Cold-start breakdown as the API, SDK and CLI show it (``GET /deployments/{name}/coldstarts``).

Layer: ``shipyard.spec``. Built from ``controller.coldstart.ColdStarts``: per component the
latest start's phases (environment, capacity, spawn, load; seconds, summing to the wall time
from the first want to the first readiness) and percentiles over the recent starts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StartOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    replica: str
    ready_at: float = Field(description="First readiness, seconds since the epoch.")
    total_s: float = Field(description="From the first want to the first readiness, seconds.")
    phases: dict[str, float] = Field(
        description="Seconds per phase, in order: environment, capacity, spawn, imports, "
        "model_load, startup."
    )
    reused_environment: bool = Field(description="Its environment was ready when it was wanted.")
    runtime_reported: bool = Field(
        False, description="imports and model_load were reported by the runtime itself."
    )


class PhaseStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    p50: float
    p95: float
    max: float


class ComponentStarts(BaseModel):
    model_config = ConfigDict(frozen=True)

    component: str
    count: int = Field(description="Recent starts summarised (at most 50).")
    latest: StartOut
    percentiles: dict[str, PhaseStats] = Field(
        description="Per phase and 'total', over the recent starts."
    )


class ColdStartsOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    deployment: str
    components: list[ComponentStarts]
