"""The usage history as the REST API answers it (``GET /deployments/{name}/usage``).

Layer: ``shipyard.spec``: the one definition of the answer, used by ``api.routes.usage`` to
build it and by the SDK (``Deployment.get_usage``) and CLI (``shipyard deployments usage``)
to read it. Times are seconds since the epoch, cores and MiB as everywhere.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shipyard.spec.resources import Resources


class SampleOut(BaseModel):
    at: float = Field(description="Seconds since the epoch.")
    cpu_cores: float | None = Field(description="Cores used, averaged over the interval.")
    memory_mb: float | None = Field(description="Resident memory, MiB.")
    memory_peak_mb: float | None = Field(description="Highest resident memory seen, MiB.")
    cpu_throttled: float | None = Field(
        None, description="Share of CPU periods the limit stopped it (null: not measured)."
    )


class SpreadOut(BaseModel):
    min: float
    mean: float
    max: float


class BucketOut(BaseModel):
    at: float = Field(description="Start of the bucket, seconds since the epoch.")
    span_s: float = Field(description="Width of the bucket, seconds.")
    count: int = Field(description="Samples summarised.")
    cpu_cores: SpreadOut | None = Field(description="Cores used: min, mean, max.")
    memory_mb: SpreadOut | None = Field(description="Resident memory, MiB: min, mean, max.")
    memory_peak_mb: float | None = Field(description="Highest resident memory seen, MiB.")
    cpu_throttled: float | None = Field(
        None, description="Mean share of CPU periods the limit stopped it (null: not measured)."
    )


class ReplicaUsageOut(BaseModel):
    replica: str
    component: str
    slot: int = Field(description="The instance slot; a restarted replica keeps its slot.")
    requests: Resources | None = Field(description="What it requested (cores, MiB, GPUs).")
    limits: Resources | None = Field(description="What it may use (cores, MiB, GPUs).")
    restarts: int
    live: bool = Field(description="Running at the latest sample (else exited or replaced).")
    samples: list[SampleOut]
    buckets: list[BucketOut] = Field(
        default_factory=list,
        description="Downsampled history before the oldest sample kept, oldest first.",
    )


class UsageEventOut(BaseModel):
    at: float = Field(description="Seconds since the epoch.")
    kind: str = Field(description="oom, restart or scale.")
    component: str
    replica: str = Field(description="Empty for a component-wide event (scale).")
    slot: int | None = Field(description="The instance slot; null for a scale event.")
    message: str


class UsageOut(BaseModel):
    interval_s: float = Field(description="Seconds between samples.")
    retention_s: float = Field(description="How far back every sample is kept.")
    history_s: float = Field(0.0, description="How far back buckets and events are kept.")
    bucket_s: float = Field(0.0, description="Width of a bucket beyond the retention, seconds.")
    since: float = Field(0.0, description="Start of the range answered, seconds since the epoch.")
    until: float = Field(0.0, description="End of the range answered, seconds since the epoch.")
    now: float = Field(description="The server's clock, seconds since the epoch.")
    replicas: list[ReplicaUsageOut]
    events: list[UsageEventOut]
