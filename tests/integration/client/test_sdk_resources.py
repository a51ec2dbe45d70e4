"""Resources through the SDK against the real API app: ``DeploymentParams`` applied, dry runs
on every serving tool, and the warnings of what a tool applies differently."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard import DeploymentParams, ShipyardWarning
from shipyard.errors import InvalidSpec
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Model, ModelServing, Project, Transformer, login
from shipyard.spec.deployment import ServingTool
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def ms(project: Project) -> ModelServing:
    return project.get_model_serving()


@pytest.fixture
def my_model(project: Project, model_dir: Path) -> Model:
    return project.get_model_registry().python.create_model("my_model").save(model_dir)


def deployment_names(ms: ModelServing) -> list[str]:
    return [d.name for d in ms.get_deployments()]


def test_create_predictor_with_params(ms: ModelServing, my_model: Model) -> None:
    params = DeploymentParams(image_uri="shipyard/python", cpu=250, memory=512, replicas=2)
    ms.create_predictor(my_model, deployment_params=params).deploy(await_update=120)
    predictor = ms.get_deployment("my-model").predictor
    assert predictor.environment == "shipyard/python"
    assert predictor.resources == PredictorResources(
        num_instances=2, requests=Resources(0.25, 512), limits=Resources(0.25, 512)
    )
    with pytest.raises(InvalidSpec, match="differ"):
        ms.create_predictor(my_model, environment="other:2", deployment_params=params)


# -- dry run and warnings --------------------------------------------------------------------


def test_dry_run_resolves_every_tool_without_creating(ms: ModelServing, my_model) -> None:
    for tool in ("LOCAL", "DOCKER", "KUBERNETES", "KSERVE"):
        deployment = ms.create_deployment(ms.create_predictor(my_model, serving_tool=tool))
        if tool in ("DOCKER", "KUBERNETES"):
            with pytest.warns(ShipyardWarning):
                resolution = deployment.dry_run()
        else:
            resolution = deployment.dry_run()
        assert resolution.serving_tool == tool
        assert not deployment.saved
    assert deployment_names(ms) == []


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
        transformer=Transformer(model_dir / "transformer.py"),
    )
    with pytest.raises(InvalidSpec) as info:
        ms.create_deployment(predictor).dry_run()
    fields = {e["field"]: e for e in info.value.details["errors"]}
    assert set(fields) == {"predictor.resources.num_instances", "transformer"}
    assert "scale-to-zero needs KSERVE or LOCAL; use 1 or more" in info.value.message
    assert "transformers need KSERVE or LOCAL" in info.value.message
    assert "\n" not in info.value.message


def test_real_create_without_backend_is_refused(ms: ModelServing, my_model) -> None:
    predictor = ms.create_predictor(my_model, serving_tool="KSERVE")
    with pytest.raises(InvalidSpec, match="serving tool KSERVE has no backend on this server yet"):
        predictor.deploy()
    assert deployment_names(ms) == []


def test_saved_deployment_reports_its_resolution(ms: ModelServing, my_model) -> None:
    deployment = ms.create_predictor(my_model).deploy(await_update=30)
    assert deployment.resolution is not None
    assert deployment.resolution.components[0].applied == (
        "requests 0.2 cores / 32 MiB, limits 2 cores / 1024 MiB"
    )
    # a dry run of a change to a saved deployment goes through PUT and changes nothing
    deployment.predictor.resources = DeploymentParams(cpu=500, memory=256).to_resources()
    resolution = deployment.dry_run()
    assert resolution.components[0].limits == Resources(cores=0.5, memory=256)
    assert ms.get_deployment("my-model").revision == 1
    fetched = ms.get_deployment("my-model")
    assert fetched.resolution == deployment.resolution


def test_save_warns_about_what_the_tool_changes(tmp_path: Path, model_dir: Path) -> None:
    # a server whose DOCKER deployments run on FakeBackend (KUBERNETES needs a cluster set up)
    tools = (ServingTool.LOCAL, ServingTool.DOCKER)
    with LiveApi(tmp_path / "docker-home", tools=tools) as api, login(api.host, api.api_key) as p:
        model = p.get_model_registry().python.create_model("my_model").save(model_dir)
        predictor = p.get_model_serving().create_predictor(model, serving_tool="DOCKER")
        with pytest.warns(ShipyardWarning, match=r"predictor.resources.requests: DOCKER reserves"):
            deployment = predictor.deploy(await_update=None)
    assert deployment.resolution is not None
    (component,) = deployment.resolution.components
    assert component.requests == component.limits == Resources(cores=2, memory=1024)
