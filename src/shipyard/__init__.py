"""Shipyard: self-hostable model serving with explicit resource allocation.

The public SDK surface (``shipyard.login``, ``shipyard.Resources``, ...) is resolved lazily on
first use, so that importing ``shipyard`` -- or ``shipyard.runtime`` inside a model's own
environment -- loads neither httpx nor pydantic nor the SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.errors import (
        AlreadyExists,
        InvalidInput,
        InvalidSpec,
        ModelServeError,
        NotFound,
        NotReady,
        ShipyardError,
        TimeoutExpired,
        Unauthorized,
    )
    from shipyard.sdk import (
        Deployment,
        DeploymentParams,
        Model,
        ModelRegistry,
        ModelServing,
        Predictor,
        Project,
        ShipyardWarning,
        Transformer,
        login,
    )
    from shipyard.sdk._resources import (
        InferenceBatcher,
        PredictorResources,
        PredictorScalingConfig,
        Resources,
        TransformerResources,
        TransformerScalingConfig,
    )
    from shipyard.spec.logging import InferenceLogger
    from shipyard.spec.scaling import ScaleMetric
    from shipyard.spec.status import DeploymentState, DeploymentStatus

__version__: str

_SOURCES: dict[str, str] = {
    "AlreadyExists": "shipyard.errors",
    "InvalidInput": "shipyard.errors",
    "InvalidSpec": "shipyard.errors",
    "ModelServeError": "shipyard.errors",
    "NotFound": "shipyard.errors",
    "NotReady": "shipyard.errors",
    "ShipyardError": "shipyard.errors",
    "TimeoutExpired": "shipyard.errors",
    "Unauthorized": "shipyard.errors",
    "Deployment": "shipyard.sdk",
    "InferenceBatcher": "shipyard.sdk._resources",
    "InferenceLogger": "shipyard.spec.logging",
    "DeploymentParams": "shipyard.sdk",
    "DeploymentState": "shipyard.spec.status",
    "DeploymentStatus": "shipyard.spec.status",
    "Model": "shipyard.sdk",
    "ModelRegistry": "shipyard.sdk",
    "ModelServing": "shipyard.sdk",
    "Predictor": "shipyard.sdk",
    "PredictorResources": "shipyard.sdk._resources",
    "PredictorScalingConfig": "shipyard.sdk._resources",
    "ScaleMetric": "shipyard.spec.scaling",
    "TransformerScalingConfig": "shipyard.sdk._resources",
    "Project": "shipyard.sdk",
    "Resources": "shipyard.sdk._resources",
    "ShipyardWarning": "shipyard.sdk",
    "Transformer": "shipyard.sdk",
    "TransformerResources": "shipyard.sdk._resources",
    "login": "shipyard.sdk",
}

__all__ = [
    "AlreadyExists",
    "Deployment",
    "DeploymentParams",
    "DeploymentState",
    "DeploymentStatus",
    "InferenceBatcher",
    "InferenceLogger",
    "InvalidInput",
    "InvalidSpec",
    "Model",
    "ModelRegistry",
    "ModelServeError",
    "ModelServing",
    "NotFound",
    "NotReady",
    "Predictor",
    "PredictorResources",
    "PredictorScalingConfig",
    "Project",
    "Resources",
    "ScaleMetric",
    "ShipyardError",
    "ShipyardWarning",
    "TimeoutExpired",
    "Transformer",
    "TransformerResources",
    "TransformerScalingConfig",
    "Unauthorized",
    "__version__",
    "login",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shipyard")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _SOURCES:
        value = getattr(importlib.import_module(_SOURCES[name]), name)
    else:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
