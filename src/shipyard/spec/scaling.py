"""How a component's number of instances moves: fixed, scale-to-zero, or autoscaled.

``ScalingConfig`` follows Knative's autoscaler (KPA): a target per replica of in-flight
requests (CONCURRENCY) or requests per second (RPS), averaged over a stable window, with a
short panic window that scales up at once on a spike. Without a config a component runs
``num_instances`` instances; ``num_instances = 0`` means scale-to-zero (0 to 1 instance).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shipyard.spec.resources import ComponentResources


class ScaleMetric(StrEnum):
    CONCURRENCY = "CONCURRENCY"  # in-flight requests per replica
    RPS = "RPS"  # requests per second per replica


class ScalingConfig(BaseModel):
    """Autoscaling of one component between ``min_instances`` and ``max_instances``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_instances: int = Field(default=1, ge=0, description="0 = scale to zero when idle.")
    max_instances: int = Field(default=1, ge=1)
    scale_metric: ScaleMetric = ScaleMetric.CONCURRENCY
    target: float = Field(
        default=10.0,
        gt=0,
        description="Wanted in-flight requests (CONCURRENCY) or requests/s (RPS) per replica.",
    )
    stable_window_s: float = Field(
        default=60.0, gt=0, description="Seconds the metric is averaged over to scale."
    )
    panic_window_s: float = Field(
        default=6.0, gt=0, description="Short window that detects spikes (scale up at once)."
    )
    panic_threshold: float = Field(
        default=2.0,
        gt=1,
        description="Panic when the panic window asks for this many times the current count.",
    )
    scale_down_delay_s: float = Field(
        default=0.0, ge=0, description="A scale-down must be wanted this long before it happens."
    )
    scale_to_zero_after_s: float = Field(
        default=30.0, gt=0, description="With min_instances 0: idle this long -> 0 instances."
    )


PredictorScalingConfig = ScalingConfig  # the SDK names, in the manner of hsml
TransformerScalingConfig = ScalingConfig


def effective_scaling(
    resources: ComponentResources, scaling: ScalingConfig | None
) -> ScalingConfig | None:
    """The autoscaling a component gets: its own, scale-to-zero for 0 instances, else None."""
    if scaling is not None:
        return scaling
    if resources.num_instances == 0:  # idle for 30 s (the retention) -> zero
        return ScalingConfig(
            min_instances=0, max_instances=1, stable_window_s=30.0, scale_to_zero_after_s=30.0
        )
    return None
