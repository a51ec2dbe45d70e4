"""``DeploymentParams`` (Fiddler units) on the client (what the server applies, dry runs and
warnings: ``tests/integration/client/test_sdk_resources.py``)."""

from __future__ import annotations

import pytest

import shipyard
from shipyard import DeploymentParams
from shipyard.errors import InvalidSpec
from shipyard.resources import PredictorResources, Resources
from shipyard.spec.units import cores_to_quantity

pytestmark = pytest.mark.unit


# -- DeploymentParams ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "cores", "quantity"), [(1, 0.001, "1m"), (250, 0.25, "250m"), (1500, 1.5, "1500m")]
)
def test_params_convert_millicpus_exactly(cpu: int, cores: float, quantity: str) -> None:
    res = DeploymentParams(cpu=cpu, memory=512, replicas=3).to_resources()
    assert res.requests == res.limits == Resources(cores=cores, memory=512, gpus=0)
    assert res.num_instances == 3
    assert cores_to_quantity(res.limits.cores) == quantity


def test_params_keep_what_they_do_not_set() -> None:
    base = PredictorResources(
        num_instances=2,
        requests=Resources(cores=0.5, memory=256, gpus=1),
        limits=Resources(cores=1, memory=512, gpus=1),
    )
    res = DeploymentParams(cpu=750).to_resources(base)
    assert res.num_instances == 2
    assert res.requests == Resources(cores=0.75, memory=256, gpus=1)
    assert res.limits == Resources(cores=0.75, memory=512, gpus=1)
    assert DeploymentParams().to_resources(base) == base
    assert DeploymentParams(replicas=0).to_resources().num_instances == 0


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"cpu": 0}, "cpu", "millicpus per replica, 1 or more (250 = 0.25 cores)"),
        ({"cpu": 0.25}, "cpu", "millicpus"),  # cores given where millicpus are expected
        ({"cpu": True}, "cpu", "millicpus"),
        ({"memory": -1}, "memory", "MiB per replica, 1 or more"),
        ({"replicas": -1}, "replicas", "0 or more (0 = scale to zero)"),
    ],
)
def test_params_refuse_bad_values_naming_the_unit(kwargs, field: str, text: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        DeploymentParams(**kwargs)
    [error] = info.value.details["errors"]
    assert error["field"] == field and error["value"] == kwargs[field]
    assert text in error["message"]
    assert "\n" not in info.value.message


def test_params_are_frozen_and_public() -> None:
    params = shipyard.DeploymentParams(image_uri="md-base/python/machine-learning:1.1.0", cpu=250)
    with pytest.raises(ValueError, match="frozen"):
        params.cpu = 500  # type: ignore[misc]
    assert params.cores == 0.25 and params.memory is None
