"""A Fiddler-shaped client over the Shipyard SDK: ``import shipyard.fiddler as fdl``.

Stability: public API (names in ``__all__``); everything in ``_``-modules is internal.

    deployment_params = fdl.DeploymentParams(
        image_uri="md-base/python/machine-learning:1.1.0", cpu=250, memory=512, replicas=1
    )
    client = fdl.FiddlerApi(url="http://127.0.0.1:8470", auth_token="sk-...")
    client.add_model_artifact(
        project_id="example_project", model_id="example_model", model_dir="model_dir/",
        deployment_params=deployment_params,
    )

``project_id`` is the Shipyard project of the API key (by name), ``model_id`` a model of its
registry, and the model is served by the deployment named after it (``example_model`` ->
``example-model``). ``DeploymentParams`` is the SDK's own class (millicpus and MiB, converted
exactly). Names resolve lazily, like ``shipyard``'s: importing this package loads nothing else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.errors import ModelServeError
    from shipyard.fiddler._client import FiddlerApi
    from shipyard.fiddler._deployment import ModelDeployment
    from shipyard.sdk._params import DeploymentParams

_SOURCES: dict[str, str] = {
    "DeploymentParams": "shipyard.sdk._params",
    "FiddlerApi": "shipyard.fiddler._client",
    "ModelDeployment": "shipyard.fiddler._deployment",
    "ModelServeError": "shipyard.errors",
}

__all__ = ["DeploymentParams", "FiddlerApi", "ModelDeployment", "ModelServeError"]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'shipyard.fiddler' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
