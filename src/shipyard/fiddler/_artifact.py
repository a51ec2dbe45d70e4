"""Registering a Fiddler model directory as a new version of a Shipyard model.

A Fiddler model directory holds ``package.py`` (``get_model()``) and maybe ``requirements.txt``;
the replica runtime finds ``package.py`` by itself, whatever the model's framework. The
framework only decides how a *bare* model file is loaded, so a new version keeps the framework
of the model's latest version, and a new model is registered as ``python``.
"""

from __future__ import annotations

import os

from shipyard.errors import NotFound
from shipyard.sdk import Model, ModelRegistry
from shipyard.spec.deployment import Framework


def framework_of(registry: ModelRegistry, model_id: str) -> str:
    """The framework of ``model_id``'s latest version; ``python`` for a new model."""
    try:
        return registry.get_model(model_id).framework
    except NotFound:
        return Framework.PYTHON.value


def register_version(
    registry: ModelRegistry, model_id: str, model_dir: str | os.PathLike[str]
) -> Model:
    """Upload ``model_dir`` as the next version of ``model_id`` (created if new).

    Raises:
        InvalidInput: ``model_dir`` is missing or empty.
    """
    framework = registry.framework(framework_of(registry, model_id))
    return framework.create_model(model_id).save(model_dir)
