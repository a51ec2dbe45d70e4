"""Adaptive inference batching of a predictor (``InferenceBatcher`` in hsml's shape)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MAX_BATCH_SIZE = 32
DEFAULT_MAX_LATENCY_MS = 5.0
DEFAULT_TIMEOUT_S = 60.0


class InferenceBatcher(BaseModel):
    """Combine concurrent requests to one replica into one model call.

    Units: ``max_latency`` in milliseconds, ``timeout`` in seconds (as in hsml).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    max_batch_size: int | None = Field(
        default=None,
        ge=2,
        description=f"Most instances per model call (default {DEFAULT_MAX_BATCH_SIZE}).",
    )
    max_latency: float | None = Field(
        default=None,
        gt=0,
        le=10_000,
        description=f"Longest wait for a batch to fill, ms (default {DEFAULT_MAX_LATENCY_MS:g}).",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description=f"Longest wait for a batch's answer, in s (default {DEFAULT_TIMEOUT_S:g}).",
    )

    def __init__(
        self,
        enabled: bool | None = None,
        max_batch_size: int | None = None,
        max_latency: float | None = None,
        timeout: float | None = None,
        **data: object,
    ) -> None:
        given = {
            "enabled": enabled,
            "max_batch_size": max_batch_size,
            "max_latency": max_latency,
            "timeout": timeout,
        }
        data.update({k: v for k, v in given.items() if v is not None})
        super().__init__(**data)

    @property
    def batch_size(self) -> int:
        return self.max_batch_size or DEFAULT_MAX_BATCH_SIZE

    @property
    def latency_ms(self) -> float:
        return self.max_latency or DEFAULT_MAX_LATENCY_MS

    @property
    def timeout_s(self) -> float:
        return self.timeout or DEFAULT_TIMEOUT_S
