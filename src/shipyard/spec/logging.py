"""Inference logging of a deployment (``InferenceLogger`` in hsml's shape, KServe's semantics).

Each sampled request and/or response of a deployment is delivered by the gateway as a CloudEvent
over HTTP to ``url`` (KServe's logger format) and/or appended to the JSONL file ``file`` (rotated
by size). Delivery never slows or fails a prediction (:mod:`shipyard.gateway.inferencelog`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LoggerMode(StrEnum):
    ALL = "ALL"
    """Requests and responses."""
    MODEL_INPUTS = "MODEL_INPUTS"
    """Requests only."""
    PREDICTIONS = "PREDICTIONS"
    """Responses only."""


class InferenceLogger(BaseModel):
    """Where and what a deployment's inference log goes (at least one of ``url`` and ``file``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: LoggerMode = LoggerMode.ALL
    url: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="CloudEvents receiver (HTTP POST, binary content mode, KServe's format).",
    )
    file: str | None = Field(
        default=None,
        max_length=1024,
        description="JSONL file the gateway appends to, relative to SHIPYARD_HOME/logs/inference.",
    )
    sample_rate: float = Field(default=1.0, gt=0.0, le=1.0, description="Share logged.")

    @model_validator(mode="after")
    def _somewhere(self) -> InferenceLogger:
        if self.url is None and self.file is None:
            raise ValueError("inference_logger needs a url (CloudEvents receiver) or a file")
        name = self.file
        unsafe = name is not None and (name.startswith("/") or ".." in name.split("/"))
        if name is not None and (unsafe or not name.strip()):
            raise ValueError(
                f"inference_logger file {name!r}: give a relative path without '..' (it is "
                "kept under SHIPYARD_HOME/logs/inference)"
            )
        return self
