"""KUBERNETES rendering: golden files, exact resources, probes, labels, strategy, validation."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from shipyard.backends.cluster import kubernetes, naming, schemas
from shipyard.backends.cluster.inputs import OwnerRef
from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import Component, DeploymentSpec, ServingTool
from shipyard.wire.replica_token import token_digest
from tests.unit.backends.kubernetes.cases import (
    DEPLOYMENT_ID,
    KUBERNETES_CASES,
    check_golden,
    iris,
    render_input,
    seed_transformer,
    to_yaml,
)

HERE = Path(__file__).parent


def _kinds(objects):
    return {o["kind"]: o for o in objects}


@pytest.mark.parametrize("case", sorted(KUBERNETES_CASES))
def test_every_case_validates_and_matches_its_golden_file(case):
    objects = schemas.validate_all(kubernetes.render(KUBERNETES_CASES[case]))
    check_golden(HERE, case, to_yaml(objects))


def test_minimum_resources_are_requests_only_with_gpus_as_limits_too():
    objects = kubernetes.render(KUBERNETES_CASES["kubernetes-predictor-minimum"])
    pod = _kinds(objects)["Deployment"]["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources == {
        "requests": {"cpu": "1000m", "memory": "128Mi", "nvidia.com/gpu": "1"},
        "limits": {"nvidia.com/gpu": "1"},  # an extended resource needs its limit
    }
    assert _kinds(objects)["Deployment"]["spec"]["replicas"] == 2


def test_probes_strategy_and_command_run_the_runtime():
    deployment = _kinds(kubernetes.render(KUBERNETES_CASES["kubernetes-iris"]))["Deployment"]
    spec = deployment["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    container = spec["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    assert container["command"] == ["python", "-m", "shipyard.runtime"]
    assert container["args"][container["args"].index("--script") + 1] == (
        "/mnt/models/predictor.py"
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MODEL_FILES_PATH"] == "/mnt/models" and env["IS_TRANSFORMER"] == "false"
    init = spec["template"]["spec"]["initContainers"][0]
    token = next(e for e in init["env"] if e["name"] == "SHIPYARD_MODEL_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "iris-model", "key": "token"}
    assert "SHIPYARD_MODEL_TOKEN" not in env  # the runtime container never sees the token


def test_every_object_is_labelled_and_owned_by_the_anchor_when_applied():
    owner = OwnerRef(api_version="v1", kind="ConfigMap", name="iris-shipyard", uid="u-1")
    inp = render_input(iris(ServingTool.KUBERNETES))
    applied = kubernetes.render(inp.__class__(**{**inp.__dict__, "owner": owner}), token="t0k")
    for obj in applied:
        assert obj["metadata"]["labels"][naming.DEPLOYMENT_ID] == DEPLOYMENT_ID
        assert obj["metadata"]["labels"][naming.MANAGED_BY] == "shipyard"
        if obj["kind"] != "ConfigMap":
            assert obj["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    secrets = {o["metadata"]["name"]: o for o in applied if o["kind"] == "Secret"}
    assert secrets["iris-model"]["stringData"] == {"token": "t0k"}
    dry = kubernetes.render(inp)
    assert all("ownerReferences" not in o["metadata"] for o in dry)
    secrets = {o["metadata"]["name"]: o for o in dry if o["kind"] == "Secret"}
    assert secrets["iris-model"]["stringData"]["token"] == "<minted when applied>"
    assert secrets["iris-replica"]["stringData"]["token"] == (
        "<the project's replica token, written when applied>"
    )


def test_stopped_keeps_the_spec_and_runs_no_pod():
    objects = kubernetes.render(KUBERNETES_CASES["kubernetes-stopped"])
    assert _kinds(objects)["Deployment"]["spec"]["replicas"] == 0
    assert _kinds(objects)["ConfigMap"]["data"]["stopped"] == "true"


def test_autoscaling_renders_an_hpa_that_owns_replicas():
    objects = kubernetes.render(KUBERNETES_CASES["kubernetes-autoscaling"])
    kinds = _kinds(objects)
    assert "replicas" not in kinds["Deployment"]["spec"]
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"][0]["pods"]["metric"]["name"] == "shipyard_requests_per_second"
    assert hpa["metrics"][0]["pods"]["target"]["averageValue"] == "50000m"
    args = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--max-batch-size") + 1] == "16"  # partial batching: the runtime's


def test_a_transformer_is_refused_with_the_field_and_the_fix():
    spec = iris(ServingTool.KUBERNETES).model_copy(update={"transformer": seed_transformer()})
    with pytest.raises(InvalidSpec) as caught:
        kubernetes.render(render_input(DeploymentSpec.model_validate(spec.model_dump())))
    error = caught.value.details["errors"][0]
    assert error["field"] == "transformer" and "KSERVE" in error["message"]


def test_names_that_kubernetes_would_refuse_are_shortened_with_a_hash():
    long = "a" * 63
    assert naming.component_name(long, Component.PREDICTOR).endswith("-predictor")
    assert len(naming.component_name(long, Component.PREDICTOR)) <= 63
    digit = naming.component_name("9lives", Component.PREDICTOR)
    assert digit[0].isalpha() and digit != naming.component_name("8lives", Component.PREDICTOR)
    assert naming.isvc_name("iris") == "iris" and len(naming.isvc_name(long)) <= 45


def test_strict_validation_refuses_unknown_fields_and_bad_quantities():
    deployment = _kinds(kubernetes.render(KUBERNETES_CASES["kubernetes-iris"]))["Deployment"]
    unknown = copy.deepcopy(deployment)
    unknown["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(schemas.InvalidObject, match="resource"):
        schemas.validate(unknown)
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(schemas.InvalidObject, match=r"spec\.replicas"):
        schemas.validate(wrong)
    bad_label = copy.deepcopy(deployment)
    bad_label["metadata"]["labels"]["x"] = "not ok!"
    with pytest.raises(schemas.InvalidObject, match="label"):
        schemas.validate(bad_label)


def test_the_target_comes_from_the_settings(tmp_path):
    from shipyard.backends.cluster.target import namespace_of, target_of
    from shipyard.settings import ServerSettings

    settings = ServerSettings(home=tmp_path, kserve_deployment_mode="Standard")
    with pytest.raises(InvalidSpec, match="SHIPYARD_KUBE_SHIPYARD_URL"):
        target_of(settings, "demo")
    target = target_of(settings, "demo", dry_run=True)
    assert target.namespace == "shipyard-demo" and target.kserve_mode.value == "Standard"
    long = namespace_of("shipyard-{project}", "p" * 63)
    assert len(long) <= 63 and long.startswith("shipyard-ppp")


def test_a_changed_replica_token_changes_the_pod_template_and_its_hash():
    """Pods read the replica token once, at start: the template carries a digest of it, so a
    changed token rolls them (and the status counts pods of the old token as replaced)."""

    def template(token: bytes | None) -> dict:
        digest = None if token is None else token_digest(token)
        inp = replace(KUBERNETES_CASES["kubernetes-iris"], replica_token_digest=digest)
        return _kinds(schemas.validate_all(kubernetes.render(inp)))["Deployment"]["spec"][
            "template"
        ]

    first, again, changed = template(b"token-one"), template(b"token-one"), template(b"token-2")
    assert first == again
    notes = first["metadata"]["annotations"]
    assert notes == {naming.REPLICA_TOKEN_DIGEST: token_digest(b"token-one")}
    assert changed["metadata"]["annotations"] != notes
    hashes = {t["metadata"]["labels"][naming.TEMPLATE] for t in (first, changed, template(None))}
    assert len(hashes) == 3
    assert "token-one" not in str(first)
    assert "annotations" not in template(None)["metadata"]  # a dry run knows no token
