"""What a deployment reserves against its project's quota, and the messages naming it."""

from __future__ import annotations

import pytest

from shipyard.controller.quotas import Reserved, quota_errors, reserved
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec
from shipyard.spec.quota import Quota
from shipyard.spec.resources import PredictorResources, Resources
from shipyard.spec.scaling import ScalingConfig

pytestmark = pytest.mark.unit


def spec(name: str, instances: int, cores: float, scaling: ScalingConfig | None = None):
    res = PredictorResources(
        num_instances=instances, requests=Resources(cores=cores, memory=100, gpus=0)
    )
    predictor = PredictorSpec(model_name="m", model_version=1, resources=res, scaling=scaling)
    return DeploymentSpec(name=name, predictor=predictor)


def test_a_deployment_reserves_its_requests_times_its_most_instances() -> None:
    assert reserved(spec("a", 2, 0.5)) == Reserved(1.0, 200, 0, 2)
    assert reserved(spec("z", 0, 0.5)) == Reserved(0.5, 100, 0, 1)  # scale-to-zero wakes one
    autoscaled = spec("s", 1, 0.25, ScalingConfig(min_instances=1, max_instances=4))
    assert reserved(autoscaled) == Reserved(1.0, 400, 0, 4)


def test_each_exceeded_limit_is_named_with_what_holds_it() -> None:
    quota = Quota(cores=2, memory=250, instances=None)
    [cores, memory] = quota_errors(quota, spec("b", 2, 0.75), [spec("a", 1, 1)])
    assert cores.field == "predictor.resources.requests.cores"
    assert "quota of 2 cores" in cores.message and "reserves 1.5" in cores.message
    assert "other deployments 1 " in cores.message
    assert "quota of 250 MiB of memory" in memory.message
    assert quota_errors(Quota(), spec("b", 100, 10), [spec("a", 100, 10)]) == []
    assert quota_errors(Quota(cores=2), spec("b", 1, 1), [spec("a", 1, 1)]) == []  # at the limit
