"""The serving-tool matrix and ``resolve``: what each tool applies, warns about and refuses."""

from __future__ import annotations

import pytest

from shipyard.spec.deployment import (
    Component,
    DeploymentSpec,
    PredictorSpec,
    ServingTool,
    TransformerSpec,
)
from shipyard.spec.resources import PredictorResources, Resources, TransformerResources
from shipyard.spec.tools import (
    CAPABILITIES,
    Batching,
    Resolution,
    ResourceMode,
    resolve,
    tools_with,
)
from shipyard.spec.validation import backend_errors, spec_errors

pytestmark = pytest.mark.unit

LOCAL, DOCKER, KUBERNETES, KSERVE = (
    ServingTool.LOCAL,
    ServingTool.DOCKER,
    ServingTool.KUBERNETES,
    ServingTool.KSERVE,
)
REQ = Resources(cores=0.5, memory=256)
LIM = Resources(cores=1, memory=512)


def spec(
    tool: ServingTool,
    instances: int = 1,
    requests: Resources = REQ,
    limits: Resources = LIM,
    transformer: TransformerSpec | None = None,
) -> DeploymentSpec:
    res = PredictorResources(num_instances=instances, requests=requests, limits=limits)
    predictor = PredictorSpec(model_name="m", model_version=1, resources=res)
    return DeploymentSpec(name="d", serving_tool=tool, predictor=predictor, transformer=transformer)


def a_transformer(instances: int = 1) -> TransformerSpec:
    res = TransformerResources(
        num_instances=instances,
        requests=Resources(cores=0.25, memory=64),
        limits=Resources(cores=0.5, memory=128),
    )
    return TransformerSpec(script_file="transformer.py", resources=res)


def test_the_matrix_is_data():
    rows = {
        t: (c.resources, c.transformer, c.scale_to_zero, c.autoscaling, c.batching)
        for t, c in CAPABILITIES.items()
    }
    assert rows == {
        LOCAL: (ResourceMode.MIN_MAX, True, True, True, Batching.FULL),
        DOCKER: (ResourceMode.FIXED, False, False, False, Batching.PARTIAL),
        KUBERNETES: (ResourceMode.MINIMUM, False, False, True, Batching.PARTIAL),
        KSERVE: (ResourceMode.MIN_MAX, True, True, True, Batching.FULL),
    }
    assert set(CAPABILITIES) == set(ServingTool)
    assert tools_with("transformer") == tools_with("scale_to_zero") == "KSERVE or LOCAL"
    assert tools_with("autoscaling") == "KSERVE or KUBERNETES or LOCAL"


# -- resources: fixed, minimum, minimum and maximum ------------------------------------------


@pytest.mark.parametrize("tool", [LOCAL, KSERVE])
def test_min_max_tools_apply_requests_and_limits(tool: ServingTool):
    out = resolve(spec(tool, instances=2))
    assert out.errors == [] and out.warnings == []
    [p] = out.components
    assert (p.component, p.instances, p.requests, p.limits) == (Component.PREDICTOR, 2, REQ, LIM)
    assert p.applied == "requests 0.5 cores / 256 MiB, limits 1 core / 512 MiB"


def test_docker_applies_the_limit_as_a_fixed_reservation_and_says_so():
    out = resolve(spec(DOCKER, requests=Resources(0.2, 32), limits=Resources(2, 1024)))
    assert out.errors == []
    [p] = out.components
    assert p.requests == p.limits == Resources(cores=2, memory=1024)
    assert p.applied == "fixed 2 cores / 1024 MiB (request = limit)"
    [w] = out.warnings
    assert w.field == "predictor.resources.requests"
    assert w.value == {"cores": 0.2, "memory": 32, "gpus": 0}
    assert w.message == (
        "DOCKER reserves fixed resources: the request (0.2 cores, 32 MiB) is raised to the "
        "limit (2 cores, 1024 MiB)"
    )


def test_docker_with_request_equal_to_limit_has_no_warning():
    out = resolve(spec(DOCKER, requests=LIM, limits=LIM))
    assert out.warnings == [] and out.errors == []
    assert out.components[0].requests == out.components[0].limits == LIM


def test_kubernetes_applies_requests_only_and_never_silently():
    out = resolve(spec(KUBERNETES, instances=3))
    assert out.errors == []
    [p] = out.components
    assert (p.instances, p.requests, p.limits) == (3, REQ, None)
    assert p.applied == (
        "requests 0.5 cores / 256 MiB, no limits (KUBERNETES honours minimum resources only)"
    )
    [w] = out.warnings
    assert w.field == "predictor.resources.limits"
    assert w.value == {"cores": 1.0, "memory": 512, "gpus": 0}
    assert w.message == (
        "KUBERNETES honours minimum resources only: the limit (1 core, 512 MiB) is not applied, "
        "only the request (0.5 cores, 256 MiB) is reserved; use KSERVE or LOCAL to enforce limits"
    )


def test_gpus_and_rounding_noise_are_rendered_exactly():
    gpu = Resources(cores=0.1 + 0.2, memory=128, gpus=1)
    out = resolve(spec(KSERVE, requests=gpu, limits=Resources(cores=1, memory=256, gpus=1)))
    [p] = out.components
    assert p.requests is not None and p.requests.cores == 0.3
    assert p.applied == "requests 0.3 cores / 128 MiB / 1 GPU, limits 1 core / 256 MiB / 1 GPU"


# -- transformer -----------------------------------------------------------------------------


@pytest.mark.parametrize("tool", [LOCAL, KSERVE])
def test_transformer_is_resolved_where_supported(tool: ServingTool):
    out = resolve(spec(tool, transformer=a_transformer(2)))
    assert out.errors == []
    t = out.component("transformer")
    assert t is not None and t.instances == 2
    assert t.applied == "requests 0.25 cores / 64 MiB, limits 0.5 cores / 128 MiB"


@pytest.mark.parametrize("tool", [DOCKER, KUBERNETES])
def test_transformer_is_refused_where_unsupported(tool: ServingTool):
    out = resolve(spec(tool, requests=LIM, transformer=a_transformer()))
    [err] = out.errors
    assert (err.field, err.value) == ("transformer", "transformer.py")
    assert err.message == (
        f"serving tool {tool.value} cannot run a transformer: transformers need KSERVE or "
        "LOCAL; pick one of those or remove the transformer"
    )
    assert out.component("transformer") is None
    assert out.component("predictor") is not None


# -- scale-to-zero ---------------------------------------------------------------------------


@pytest.mark.parametrize("tool", [LOCAL, KSERVE])
def test_scale_to_zero_is_accepted_where_supported(tool: ServingTool):
    out = resolve(spec(tool, instances=0))
    assert out.errors == []
    assert out.components[0].instances == 0


@pytest.mark.parametrize("tool", [DOCKER, KUBERNETES])
def test_scale_to_zero_is_refused_where_unsupported(tool: ServingTool):
    out = resolve(spec(tool, instances=0, requests=LIM))
    [err] = out.errors
    assert (err.field, err.value) == ("predictor.resources.num_instances", 0)
    assert err.message == (
        f"serving tool {tool.value} cannot scale the predictor to zero: scale-to-zero needs "
        "KSERVE or LOCAL; use 1 or more instances"
    )


# -- every row at once -----------------------------------------------------------------------

EXPECTED = {
    # tool: (error fields for transformer + scale-to-zero, warning fields, applied limits)
    LOCAL: (set(), set(), LIM),
    KSERVE: (set(), set(), LIM),
    DOCKER: (
        {"transformer", "predictor.resources.num_instances"},
        {"predictor.resources.requests"},
        LIM,
    ),
    KUBERNETES: (
        {"transformer", "predictor.resources.num_instances"},
        {"predictor.resources.limits"},
        None,
    ),
}


@pytest.mark.parametrize("tool", list(ServingTool))
def test_every_row_of_the_matrix(tool: ServingTool):
    caps = CAPABILITIES[tool]
    out = resolve(spec(tool, instances=0, transformer=a_transformer()))
    errors, warning_fields, limits = EXPECTED[tool]
    assert {e.field for e in out.errors} == errors
    assert {w.field for w in out.warnings} == warning_fields
    assert out.components[0].limits == limits
    assert (out.component("transformer") is not None) is caps.transformer
    for item in out.errors + out.warnings:  # every message names the tool
        assert tool.value in item.message
    assert spec_errors(spec(tool)) == []  # value checks do not depend on the tool
    assert bool(backend_errors(spec(tool))) is (tool is not LOCAL)


def test_resolution_round_trips_through_json():
    out = resolve(spec(KUBERNETES, transformer=a_transformer()))
    data = out.model_dump(mode="json")
    assert data["errors"][0]["field"] == "transformer"
    assert data["components"][0]["limits"] is None
    assert Resolution.model_validate(data) == out
