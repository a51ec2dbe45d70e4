"""The Python SDK against a real server: the seed's snippet as written, and the hsml verbs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import joblib
import pytest

import shipyard
from shipyard.resources import PredictorResources, Resources
from tests.integration.system.conftest import SAMPLES, Server, state_of

pytestmark = pytest.mark.integration

# The Python snippets of shared/seeds/000_ec8a649274de0afe.txt, steps 1 to 4, with only their
# import lines naming shipyard (and gpus=0: this machine has no GPU).
SEED = """
import shipyard as hopsworks

project = hopsworks.login()

# get Hopsworks Model Registry handle
mr = project.get_model_registry()

# get Hopsworks Model Serving handle
ms = project.get_model_serving()

from shipyard.resources import PredictorResources, Resources

minimum_res = Resources(cores=1, memory=128, gpus=0)
maximum_res = Resources(cores=2, memory=256, gpus=0)

predictor_res = PredictorResources(num_instances=1, requests=minimum_res, limits=maximum_res)

from shipyard.resources import TransformerResources

minimum_res = Resources(cores=1, memory=128, gpus=0)
maximum_res = Resources(cores=2, memory=256, gpus=0)

transformer_res = TransformerResources(num_instances=2, requests=minimum_res, limits=maximum_res)

my_model = mr.get_model("my_model", version=1)

my_predictor = ms.create_predictor(my_model,
                                  resources=predictor_res,
                                  # transformer=Transformer(script_file,
                                  #                         resources=transformer_res)
                                  )
my_predictor.deploy()

# or

my_deployment = ms.create_deployment(my_predictor)
my_deployment.save()
"""


@pytest.fixture(scope="module")
def project(server: Server) -> Iterator[shipyard.Project]:
    with shipyard.login(host=server.api, api_key=server.key) as project:
        yield project


def test_the_seed_snippet_runs_as_written(
    server: Server, project, tmp_path: Path, iris_dir
) -> None:
    bare = tmp_path / "my_model"
    bare.mkdir()
    joblib.dump(joblib.load(iris_dir / "model.joblib"), bare / "model.joblib")
    model = project.get_model_registry().sklearn.create_model("my_model")
    model.save(str(bare))
    assert model.version == 1
    env = {**os.environ, "SHIPYARD_HOST": server.api, "SHIPYARD_API_KEY": server.key}
    script = tmp_path / "seed.py"
    script.write_text(textwrap.dedent(SEED))
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    deployment = project.get_model_serving().get_deployment("my-model")
    assert deployment.get_state().state == "RUNNING"
    assert deployment.revision == 1  # save() of the same spec changed nothing
    res = deployment.predictor.resources
    assert (res.requests.cores, res.requests.memory, res.limits.memory) == (1, 128, 256)
    assert deployment.predict(inputs=SAMPLES)["predictions"] == [1, 1, 0]
    deployment.delete()


def test_hsml_verbs_end_to_end(server: Server, project, iris_dir) -> None:
    mr = project.get_model_registry()
    model = mr.python.create_model(
        "iris-sdk", metrics={"accuracy": 0.97}, input_example=SAMPLES[:1]
    )
    model.save(str(iris_dir))
    assert mr.get_model("iris-sdk").version == model.version
    ms = project.get_model_serving()
    resources = PredictorResources(
        num_instances=1, requests=Resources(0.2, 64), limits=Resources(1, 512)
    )
    predictor = ms.create_predictor(model, script_file="predictor.py", resources=resources)
    deployment = predictor.deploy()
    assert deployment.is_running()
    assert deployment.predict(inputs=SAMPLES)["predictions"] == [1, 1, 0]
    assert any("ready" in line for line in deployment.get_logs(component="predictor", tail=20))
    deployment.stop(await_stopped=60)
    assert deployment.get_state().state == "STOPPED"
    with pytest.raises(shipyard.NotReady, match="STOPPED"):
        deployment.predict(inputs=SAMPLES)
    deployment.start(await_running=60)
    predictor.resources = PredictorResources(
        num_instances=2, requests=Resources(0.2, 64), limits=Resources(1, 512)
    )
    deployment.predictor = predictor
    deployment.save(await_update=60)
    with server.client() as api:
        status = state_of(api, "iris-sdk")
    assert status["available_instances"] == {"predictor": 2}
    deployment.delete()
    with pytest.raises(shipyard.NotFound):
        ms.get_deployment("iris-sdk")


def test_a_model_that_cannot_start_raises_model_serve_error(server: Server, project, crashing_dir):
    model = project.get_model_registry().python.create_model("crashing-sdk")
    model.save(str(crashing_dir))
    predictor = project.get_model_serving().create_predictor(model, script_file="predictor.py")
    with pytest.raises(shipyard.ModelServeError, match=r"weights file is corrupt|failed 3 times"):
        predictor.deploy(await_update=120)
    project.get_model_serving().get_deployment("crashing-sdk").delete()
