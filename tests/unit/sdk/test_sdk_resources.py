"""Resources through the SDK: ``DeploymentParams`` (Fiddler units), dry runs and warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard import DeploymentParams, ShipyardWarning
from shipyard.errors import InvalidSpec
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Model, ModelServing, Transformer
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


def test_create_predictor_with_params(fake, ms: ModelServing, my_model: Model) -> None:
    params = DeploymentParams(image_uri="ml:1", cpu=250, memory=512, replicas=2)
    ms.create_predictor(my_model, deployment_params=params).deploy()
    predictor = fake.posted[-1]["spec"]["predictor"]
    assert predictor["environment"] == "ml:1"
    assert predictor["resources"] == {
        "num_instances": 2,
        "requests": {"cores": 0.25, "memory": 512, "gpus": 0},
        "limits": {"cores": 0.25, "memory": 512, "gpus": 0},
    }
    with pytest.raises(InvalidSpec, match="differ"):
        ms.create_predictor(my_model, environment="other:2", deployment_params=params)


# -- dry run and warnings --------------------------------------------------------------------


def test_dry_run_resolves_every_tool_without_creating(fake, ms: ModelServing, my_model) -> None:
    for tool in ("LOCAL", "DOCKER", "KUBERNETES", "KSERVE"):
        deployment = ms.create_deployment(ms.create_predictor(my_model, serving_tool=tool))
        if tool in ("DOCKER", "KUBERNETES"):
            with pytest.warns(ShipyardWarning):
                resolution = deployment.dry_run()
        else:
            resolution = deployment.dry_run()
        assert resolution.serving_tool == tool
        assert fake.posted[-1]["dry_run"] is True
        assert not deployment.saved
    assert fake.deployments == {}


def test_docker_dry_run_warns_about_the_raised_request(ms: ModelServing, my_model: Model) -> None:
    deployment = ms.create_deployment(ms.create_predictor(my_model, serving_tool="docker"))
    with pytest.warns(ShipyardWarning) as caught:
        resolution = deployment.dry_run()
    [predictor] = resolution.components
    assert predictor.requests == predictor.limits == Resources(cores=2, memory=1024)
    [warning] = caught
    assert str(warning.message) == (
        "deployment 'my-model': predictor.resources.requests: DOCKER reserves fixed resources: "
        "the request (0.2 cores, 32 MiB) is raised to the limit (2 cores, 1024 MiB)"
    )
    assert Path(warning.filename) == Path(__file__)  # points at the caller


def test_dry_run_refuses_what_the_tool_cannot_honour(
    ms: ModelServing, my_model: Model, model_dir: Path
) -> None:
    predictor = ms.create_predictor(
        my_model,
        serving_tool="KUBERNETES",
        resources=PredictorResources(num_instances=0),
        transformer=Transformer(model_dir / "sub" / "transformer.py"),
    )
    with pytest.raises(InvalidSpec) as info:
        ms.create_deployment(predictor).dry_run()
    fields = {e["field"]: e for e in info.value.details["errors"]}
    assert set(fields) == {"predictor.resources.num_instances", "transformer"}
    assert "scale-to-zero needs KSERVE or LOCAL; use 1 or more" in info.value.message
    assert "transformers need KSERVE or LOCAL" in info.value.message
    assert "\n" not in info.value.message


def test_real_create_without_backend_is_refused(fake, ms: ModelServing, my_model) -> None:
    predictor = ms.create_predictor(my_model, serving_tool="KSERVE")
    with pytest.raises(InvalidSpec, match="serving tool KSERVE has no backend on this server yet"):
        predictor.deploy()
    assert fake.deployments == {}


def test_saved_deployment_reports_its_resolution(fake, ms: ModelServing, my_model) -> None:
    deployment = ms.create_predictor(my_model).deploy()
    assert deployment.resolution is not None
    assert deployment.resolution.components[0].applied == (
        "requests 0.2 cores / 32 MiB, limits 2 cores / 1024 MiB"
    )
    # a dry run of a change to a saved deployment goes through PUT and changes nothing
    deployment.predictor.resources = DeploymentParams(cpu=500, memory=256).to_resources()
    resolution = deployment.dry_run()
    assert fake.requests[-1].method == "PUT"
    assert resolution.components[0].limits == Resources(cores=0.5, memory=256)
    assert fake.deployments["my-model"].revision == 1
    fetched = ms.get_deployment("my-model")
    assert fetched.resolution == deployment.resolution


def test_save_warns_about_what_the_tool_changes(fake, ms: ModelServing, my_model) -> None:
    fake.backends.add("KUBERNETES")  # pretend the server had a KUBERNETES backend
    predictor = ms.create_predictor(my_model, serving_tool="KUBERNETES")
    with pytest.warns(ShipyardWarning, match=r"predictor.resources.limits: KUBERNETES honours"):
        deployment = predictor.deploy()
    assert deployment.resolution is not None
    assert deployment.resolution.components[0].limits is None
