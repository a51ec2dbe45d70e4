"""KSERVE rendering: golden files, requests and limits, scaling, batcher, stop, the CRD schema."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from shipyard.backends.cluster import kserve, naming, schemas
from shipyard.backends.cluster.inputs import KServeMode
from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec, ServingTool
from shipyard.spec.resources import PredictorResources
from shipyard.spec.scaling import ScalingConfig
from shipyard.wire.replica_token import token_digest
from tests.unit.backends.kubernetes.cases import KSERVE_CASES, check_golden, render_input, to_yaml

HERE = Path(__file__).parent


def _isvc(case: str):
    return kserve.render(KSERVE_CASES[case])[-1]


@pytest.mark.parametrize("case", sorted(KSERVE_CASES))
def test_every_case_validates_against_the_crd_and_matches_its_golden_file(case):
    objects = schemas.validate_all(kserve.render(KSERVE_CASES[case]))
    assert [o["kind"] for o in objects] == ["ConfigMap", "Secret", "Secret", "InferenceService"]
    check_golden(HERE, case, to_yaml(objects))


def test_predictor_and_transformer_get_requests_and_limits():
    spec = _isvc("kserve-predictor-transformer-min-max")["spec"]
    expected = {
        "requests": {"cpu": "1000m", "memory": "128Mi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "2000m", "memory": "256Mi", "nvidia.com/gpu": "1"},
    }
    for component in ("predictor", "transformer"):
        assert spec[component]["containers"][0]["resources"] == expected
    assert (spec["transformer"]["minReplicas"], spec["transformer"]["maxReplicas"]) == (2, 2)
    args = spec["transformer"]["containers"][0]["args"]
    assert args[args.index("--predictor_host") + 1] == "fraud-predictor.shipyard-demo"


def test_zero_instances_scale_to_zero_with_kserves_batcher():
    isvc = _isvc("kserve-scale-to-zero-batching")
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (0, 1)
    assert predictor["batcher"] == {"maxBatchSize": 32, "maxLatency": 6, "timeout": 60}
    assert "--max-batch-size" not in predictor["containers"][0]["args"]  # not batched twice
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"


def test_scale_to_zero_is_refused_in_standard_mode_with_the_reason():
    spec = DeploymentSpec(
        name="fraud",
        serving_tool=ServingTool.KSERVE,
        predictor=PredictorSpec(
            model_name="fraud", model_version=1, resources=PredictorResources(num_instances=0)
        ),
    )
    with pytest.raises(InvalidSpec) as caught:
        kserve.render(render_input(spec, mode=KServeMode.STANDARD))
    error = caught.value.details["errors"][0]
    assert error["field"] == "predictor.resources.num_instances"
    assert "turns minReplicas 0 into 1" in error["message"]


def test_autoscaling_maps_to_scale_metric_and_target():
    spec = _isvc("kserve-autoscaling")["spec"]
    assert spec["predictor"]["scaleMetric"] == "concurrency"
    assert spec["predictor"]["scaleTarget"] == 8
    assert spec["transformer"]["scaleTarget"] == 3  # 2.5 in-flight requests, rounded up
    assert (spec["predictor"]["minReplicas"], spec["predictor"]["maxReplicas"]) == (1, 5)


def test_stop_sets_kserves_stop_annotation_and_keeps_the_spec():
    isvc = _isvc("kserve-stopped")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/stop"] == "true"
    assert isvc["spec"]["predictor"]["minReplicas"] == 1


def test_the_crd_schema_refuses_unknown_fields_and_wrong_enums():
    isvc = _isvc("kserve-iris")
    unknown = copy.deepcopy(isvc)
    unknown["spec"]["predictor"]["minReplica"] = 1
    with pytest.raises(schemas.InvalidObject, match="minReplica"):
        schemas.validate(unknown)
    nested = copy.deepcopy(isvc)
    nested["spec"]["predictor"]["containers"][0]["resources"]["limit"] = {}
    with pytest.raises(schemas.InvalidObject, match="limit"):
        schemas.validate(nested)
    metric = copy.deepcopy(isvc)
    metric["spec"]["predictor"]["scaleMetric"] = "latency"
    with pytest.raises(schemas.InvalidObject, match=r"spec\.predictor\.scaleMetric"):
        schemas.validate(metric)


def test_request_based_autoscaling_is_refused_in_standard_mode_with_the_reason():
    spec = DeploymentSpec(
        name="fraud",
        serving_tool=ServingTool.KSERVE,
        predictor=PredictorSpec(
            model_name="fraud", model_version=1, scaling=ScalingConfig(min_instances=1)
        ),
    )
    with pytest.raises(InvalidSpec) as caught:
        kserve.render(render_input(spec, mode=KServeMode.STANDARD))
    error = caught.value.details["errors"][0]
    assert error["field"] == "predictor.scaling.scale_metric"
    assert "cpu or memory only" in error["message"] and "Serverless" in error["message"]


def test_pods_demand_the_replica_token_except_behind_kserves_batcher():
    """KServe's batcher re-sends batches without the caller's headers: the predictor behind it
    cannot demand the token (the status says so); every other container does."""
    for case in ("kserve-iris", "kserve-predictor-transformer-min-max"):
        for component, part in _isvc(case)["spec"].items():
            args = part["containers"][0]["args"]
            assert args[args.index("--token-file") + 1] == "/var/run/shipyard/replica-token"
            assert "--health-without-token" in args, (case, component)
    batched = _isvc("kserve-scale-to-zero-batching")["spec"]["predictor"]
    assert "batcher" in batched and "--token-file" not in batched["containers"][0]["args"]


def test_every_component_carries_the_replica_tokens_digest_on_its_pods():
    """KServe puts a component's ``annotations`` on its pods (a new revision when they change):
    a changed replica token rolls the predictor and the transformer alike."""
    digest = token_digest(b"token-one")
    inp = replace(KSERVE_CASES["kserve-predictor-transformer-min-max"], replica_token_digest=digest)
    [isvc] = [
        o for o in schemas.validate_all(kserve.render(inp)) if o["kind"] == "InferenceService"
    ]
    for part in ("predictor", "transformer"):
        assert isvc["spec"][part]["annotations"] == {naming.REPLICA_TOKEN_DIGEST: digest}
    assert "annotations" not in _isvc("kserve-predictor-transformer-min-max")["spec"]["predictor"]
