"""The public surface: ``shipyard.__all__``, lazy imports, ``shipyard.resources``."""

from __future__ import annotations

import subprocess
import sys

import pytest

import shipyard
import shipyard.sdk

pytestmark = pytest.mark.unit

PUBLIC = {
    # the error hierarchy, so that `except shipyard.NotFound` works
    "AlreadyExists",
    "InvalidInput",
    "InvalidSpec",
    "ModelServeError",
    "NotFound",
    "NotReady",
    "ShipyardError",
    "TimeoutExpired",
    "Unauthorized",
    "Deployment",
    "DeploymentParams",
    "DeploymentState",
    "DeploymentStatus",
    "Model",
    "ModelRegistry",
    "ModelServing",
    "Predictor",
    "PredictorResources",
    "InferenceBatcher",
    "InferenceLogger",
    "PredictorScalingConfig",
    "ScaleMetric",
    "TransformerScalingConfig",
    "Project",
    "Resources",
    "ShipyardWarning",
    "Transformer",
    "TransformerResources",
    "__version__",
    "login",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(shipyard.__all__) == PUBLIC
    assert len(shipyard.__all__) == len(PUBLIC)


def test_every_public_name_resolves() -> None:
    for name in shipyard.__all__:
        assert getattr(shipyard, name) is not None
    assert shipyard.login is shipyard.sdk.login
    assert isinstance(shipyard.__version__, str)
    assert set(shipyard.__all__) <= set(dir(shipyard))


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = shipyard.nope  # type: ignore[attr-defined]


def test_sdk_all_names_exist() -> None:
    for name in shipyard.sdk.__all__:
        assert hasattr(shipyard.sdk, name), name


@pytest.mark.parametrize("module", ["shipyard", "shipyard.runtime"])
def test_importing_shipyard_loads_neither_httpx_nor_pydantic(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = sorted(m for m in ('httpx', 'pydantic', 'shipyard.sdk') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_resources_module_mirrors_hsml_resources() -> None:
    from shipyard.resources import PredictorResources, Resources, TransformerResources
    from shipyard.spec import resources as spec

    assert Resources is shipyard.Resources and issubclass(Resources, spec.Resources)
    assert PredictorResources is shipyard.PredictorResources
    assert issubclass(PredictorResources, spec.PredictorResources)
    assert TransformerResources is shipyard.TransformerResources
    assert issubclass(TransformerResources, spec.TransformerResources)
