"""Which image recipe a replica needs: its environment's lock, or the server's own packages.

A component with an environment (``ReplicaSpec.python`` points into a built virtualenv) gets
that environment's manifest (``shipyard-environment.json``, written by the environment
builder): base, base image and the full lock, installed with ``uv pip sync``. A component with
none (EMBEDDED on LOCAL: it runs in the server's interpreter) gets the server's own versions of
its framework's packages, so the model loads on DOCKER with what it was tested with on LOCAL.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

from shipyard.backends.docker.images import ImageRecipe
from shipyard.backends.protocol import ReplicaSpec
from shipyard.errors import ModelServeError

MANIFEST = "shipyard-environment.json"  # the environment builder's contract
EMBEDDED_BASE = "shipyard/python"

# What a model of each framework loads with (plus pandas: scripts commonly take dataframes).
FRAMEWORK_PACKAGES: dict[str, tuple[str, ...]] = {
    "python": ("numpy", "pandas", "scikit-learn", "joblib"),
    "sklearn": ("numpy", "pandas", "scikit-learn", "joblib"),
    "xgboost": ("numpy", "pandas", "scikit-learn", "joblib", "xgboost-cpu"),
    "lightgbm": ("numpy", "pandas", "scikit-learn", "joblib", "lightgbm"),
}


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def embedded_recipe(framework: str, base_image: str, index_url: str | None) -> ImageRecipe:
    """The server's own versions of ``framework``'s packages on ``base_image``."""
    pins = tuple(
        f"{name}=={found}"
        for name in FRAMEWORK_PACKAGES.get(framework, FRAMEWORK_PACKAGES["python"])
        if (found := _installed(name)) is not None
    )
    digest = hashlib.sha256("\0".join([base_image, *pins]).encode()).hexdigest()[:16]
    return ImageRecipe(
        key=f"embedded-{digest}",
        base=EMBEDDED_BASE,
        base_image=base_image,
        packages=pins,
        locked=False,
        index_url=index_url,
    )


def environment_recipe(python: Path, index_url: str | None) -> ImageRecipe:
    """The recipe of the environment whose interpreter is ``python``.

    Raises:
        ModelServeError: The environment has no readable manifest.
    """
    manifest = python.parent.parent / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        lock = str(data["lock"])
        return ImageRecipe(
            key=str(data["key"]),
            base=str(data["base"]),
            base_image=str(data["image"]),
            packages=tuple(line for line in lock.splitlines() if line and line[0] != "#"),
            locked=True,
            index_url=index_url,
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelServeError(f"environment manifest {manifest} is unreadable: {exc}") from exc


def recipe_for(spec: ReplicaSpec, base_image: str, index_url: str | None) -> ImageRecipe:
    if spec.python is not None:
        return environment_recipe(Path(spec.python), index_url)
    return embedded_recipe(spec.framework, base_image, index_url)
