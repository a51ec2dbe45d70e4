"""The desired state of a deployment: what the user asked for, versioned as revisions."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.logging import InferenceLogger
from shipyard.spec.resources import PredictorResources, TransformerResources
from shipyard.spec.scaling import ScalingConfig

NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
NAME_RULE = (
    "lowercase letters, digits and '-', 1 to 63 characters, starting and ending alphanumeric"
)


class ServingTool(StrEnum):
    LOCAL = "LOCAL"
    DOCKER = "DOCKER"
    KUBERNETES = "KUBERNETES"
    KSERVE = "KSERVE"


class Component(StrEnum):
    PREDICTOR = "predictor"
    TRANSFORMER = "transformer"


class Framework(StrEnum):
    """How a model version's files are loaded when it has no predictor script."""

    PYTHON = "python"
    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"


def check_name(kind: str, value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(f"{kind} name {value!r} is invalid: use {NAME_RULE}")
    return value


class PredictorSpec(BaseModel):
    """The predictor: which model version it serves, how, and with what resources."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    model_name: str
    model_version: int = Field(ge=1)
    script_file: str | None = Field(
        default=None,
        description="Path of the predictor script inside the model version's files; "
        "None = detect (predictor.py, predict.py, package.py, or a bare model file).",
    )
    resources: PredictorResources = Field(default_factory=PredictorResources)
    scaling: ScalingConfig | None = Field(
        default=None,
        description="Autoscaling between min and max instances; None = resources.num_instances "
        "(0 = scale to zero).",
    )
    batching: InferenceBatcher | None = Field(
        default=None, description="Adaptive batching of concurrent requests (LOCAL, KSERVE)."
    )
    environment: str | None = Field(
        default=None,
        description="Base environment name[:version] or alias; None = the server's "
        "interpreter, or shipyard/python when the model has a requirements.txt.",
    )
    inference_logger: InferenceLogger | None = Field(
        default=None, description="Log requests/responses as CloudEvents and/or JSONL."
    )


class TransformerSpec(BaseModel):
    """The optional transformer: pre- and post-processing with its own resources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    script_file: str
    resources: TransformerResources = Field(default_factory=TransformerResources)
    scaling: ScalingConfig | None = None
    environment: str | None = None


class DeploymentSpec(BaseModel):
    """Everything a user decides about a deployment (one revision of it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    serving_tool: ServingTool = ServingTool.LOCAL
    predictor: PredictorSpec
    transformer: TransformerSpec | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name("deployment", value)

    def components(self) -> dict[Component, int]:
        """Desired instances per component."""
        out = {Component.PREDICTOR: self.predictor.resources.num_instances}
        if self.transformer is not None:
            out[Component.TRANSFORMER] = self.transformer.resources.num_instances
        return out
