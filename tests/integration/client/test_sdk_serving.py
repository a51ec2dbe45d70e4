"""Model serving against the real API app: the spec ``deploy()`` stores, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard import Transformer
from shipyard.errors import InvalidSpec
from shipyard.resources import PredictorResources, Resources, TransformerResources
from shipyard.sdk import Model, Project

pytestmark = pytest.mark.integration


@pytest.fixture
def my_model(project: Project, model_dir: Path) -> Model:
    registry = project.get_model_registry()
    return registry.python.create_model("my_model", metrics={"accuracy": 0.9}).save(model_dir)


def test_seed_snippet_allocates_resources(project: Project, my_model: Model) -> None:
    # docs snippet (hsml "allocate resources"), with gpus=0 and imports naming shipyard
    mr, ms = project.get_model_registry(), project.get_model_serving()
    minimum_res = Resources(cores=1, memory=128, gpus=0)
    maximum_res = Resources(cores=2, memory=256, gpus=0)
    predictor_res = PredictorResources(num_instances=1, requests=minimum_res, limits=maximum_res)

    my_model = mr.get_model("my_model", version=1)
    my_predictor = ms.create_predictor(my_model, resources=predictor_res)
    my_predictor.deploy(await_update=30)

    stored = ms.get_deployment("my-model")
    spec = stored.predictor.to_spec()
    assert (spec.name, spec.serving_tool, spec.predictor.model_name) == (
        "my-model",
        "LOCAL",
        "my_model",
    )
    assert spec.predictor.resources == predictor_res
    assert stored.active and stored.get_state().state == "RUNNING"

    my_deployment = ms.create_deployment(my_predictor)  # the snippet's alternative spelling
    my_deployment.save(await_update=30, quiet=True)
    assert my_deployment.is_running()
    assert my_deployment.revision == 1  # the same spec: nothing changed


def test_transformer_and_serving_tool(project: Project, my_model: Model, model_dir: Path):
    transformer = Transformer(
        str(model_dir / "transformer.py"), resources=TransformerResources(num_instances=2)
    )
    ms = project.get_model_serving()
    ms.create_predictor(
        my_model,
        name="iris",
        serving_tool="local",
        script_file=model_dir / "predictor.py",
        transformer=transformer,
        environment="shipyard/python:1.0.0",
    ).deploy(await_update=120)
    spec = ms.get_deployment("iris").predictor.to_spec()
    assert spec.predictor.script_file == "predictor.py"
    assert spec.predictor.environment == "shipyard/python:1.0.0"
    assert spec.transformer is not None
    assert spec.transformer.script_file == "transformer.py"
    assert spec.transformer.resources.num_instances == 2


def test_server_rejection_is_invalid_spec(project: Project, my_model: Model) -> None:
    gpu = PredictorResources(requests=Resources(1, 128, gpus=1), limits=Resources(2, 256, gpus=0))
    predictor = project.get_model_serving().create_predictor(my_model, resources=gpu)
    with pytest.raises(InvalidSpec, match=r"GPU request \(1\) must equal the GPU limit") as caught:
        predictor.deploy()
    fields = [error["field"] for error in caught.value.details["errors"]]
    assert "predictor.resources.requests.gpus" in fields
