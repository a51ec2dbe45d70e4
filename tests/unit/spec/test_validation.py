from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec, ServingTool
from shipyard.spec.resources import PredictorResources, Resources
from shipyard.spec.validation import backend_errors, raise_for, spec_errors

pytestmark = pytest.mark.unit


def spec(resources: PredictorResources, tool=ServingTool.LOCAL) -> DeploymentSpec:
    predictor = PredictorSpec(model_name="m", model_version=1, resources=resources)
    return DeploymentSpec(name="d", serving_tool=tool, predictor=predictor)


def test_defaults_follow_hopsworks():
    res = PredictorResources()
    assert (res.num_instances, res.requests.cores, res.requests.memory) == (1, 0.2, 32)
    assert (res.limits.cores, res.limits.memory, res.limits.gpus) == (2.0, 1024, 0)
    assert spec_errors(spec(res)) == []


def test_seed_example_with_gpus_zero_is_valid():
    res = PredictorResources(
        num_instances=1,
        requests=Resources(cores=1, memory=128, gpus=0),
        limits=Resources(cores=2, memory=256, gpus=0),
    )
    assert spec_errors(spec(res)) == []


def test_request_above_limit_names_component_field_value_and_fix():
    res = PredictorResources(
        requests=Resources(cores=3, memory=2048), limits=Resources(cores=2, memory=1024)
    )
    errors = {e.field: e for e in spec_errors(spec(res))}
    assert errors["predictor.resources.requests.cores"].value == 3
    assert "above the limit of 2 cores" in errors["predictor.resources.requests.cores"].message
    assert "2048 MiB" in errors["predictor.resources.requests.memory"].message
    with pytest.raises(InvalidSpec) as info:
        raise_for(spec_errors(spec(res)))
    assert "predictor.resources.requests.memory=2048" in info.value.message
    assert len(info.value.details["errors"]) == 2


def test_zero_and_negative_values_are_rejected():
    res = PredictorResources(
        num_instances=-1,
        requests=Resources(cores=0, memory=-5),
        limits=Resources(cores=1, memory=64),
    )
    fields = {e.field for e in spec_errors(spec(res))}
    assert {"predictor.resources.num_instances", "predictor.resources.requests.cores",
            "predictor.resources.requests.memory"} <= fields  # fmt: skip


def test_gpu_request_must_equal_limit():
    res = PredictorResources(requests=Resources(1, 128, 1), limits=Resources(2, 256, 0))
    [err] = spec_errors(spec(res))
    assert err.field == "predictor.resources.requests.gpus"


def test_tools_without_backend_are_rejected_not_ignored():
    docker = spec(PredictorResources(), ServingTool.DOCKER)
    assert spec_errors(docker) == []  # what DOCKER can honour is spec.tools' job
    [err] = backend_errors(docker)
    assert (err.field, err.value) == ("serving_tool", "DOCKER")
    assert err.message == (
        "serving tool DOCKER has no backend on this server yet; use one of: LOCAL"
    )
    assert backend_errors(spec(PredictorResources())) == []


def test_cores_must_be_whole_millicpus():
    res = PredictorResources(requests=Resources(cores=0.0005, memory=32))
    [err] = spec_errors(spec(res))
    assert (err.field, err.value) == ("predictor.resources.requests.cores", 0.0005)
    assert "multiple of 0.001 cores" in err.message and "250m" in err.message
    # binary rounding noise is not a sub-millicpu request
    ok = PredictorResources(requests=Resources(cores=0.1 + 0.2, memory=32))
    assert spec_errors(spec(ok)) == []


def test_unknown_fields_and_bad_names_are_rejected():
    with pytest.raises(ValidationError):
        Resources(cores=1, memory=1, gpu=1)  # typo of gpus
    with pytest.raises(ValidationError, match="lowercase"):
        DeploymentSpec(name="Bad_Name", predictor=PredictorSpec(model_name="m", model_version=1))
