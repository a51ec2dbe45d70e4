"""The main job: register the iris model, deploy it with 2 instances, and predict (V1 and V2).

Run by ``bash scripts/quickstart.sh`` once the server is up; uses only the public SDK. Safe to
run again against a running server: a RUNNING ``iris`` deployment of the iris model is used as
it is, and anything else called ``iris`` is left alone (the example is then deployed under the
first free name ``iris-2``, ``iris-3``, ...). ``--name-file PATH`` writes the name it used.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import httpx

import shipyard
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Deployment, ModelServing

sys.path.insert(0, str(Path(__file__).parent / "iris"))
from train import train

NAME = "iris"
SAMPLES = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6], [5.1, 3.5, 1.4, 0.2]]
SERVING = {shipyard.DeploymentState.RUNNING, shipyard.DeploymentState.IDLE}


def api_key() -> str:
    """The key the SDK found: SHIPYARD_API_KEY, else $SHIPYARD_HOME/api-key."""
    if os.environ.get("SHIPYARD_API_KEY"):
        return os.environ["SHIPYARD_API_KEY"]
    home = Path(os.environ.get("SHIPYARD_HOME", Path.home() / ".shipyard"))
    return (home / "api-key").read_text().strip()


def existing(ms: ModelServing) -> tuple[Deployment | None, str]:
    """A running deployment of the iris model to reuse, else None and a free name."""
    taken = {d.name: d for d in ms.get_deployments()}
    mine = taken.get(NAME)
    if mine is not None and mine.predictor.model_name == NAME and mine.get_state().state in SERVING:
        return mine, NAME
    if mine is not None:
        print(f"a deployment {NAME!r} exists ({mine.get_state().state}): leaving it alone")
    name = next(n for n in [NAME, *(f"{NAME}-{i}" for i in range(2, 1000))] if n not in taken)
    return None, name


def deploy(project: shipyard.Project, name: str) -> Deployment:
    """Train and register a new version of the iris model, and deploy it as ``name``."""
    mr = project.get_model_registry()
    with tempfile.TemporaryDirectory() as tmp:
        accuracy = train(Path(tmp))
        model = mr.sklearn.create_model(
            NAME,
            metrics={"accuracy": accuracy},
            description="Logistic regression on the iris data set",
            input_example=SAMPLES[:1],
        )
        model.save(tmp)
    print(f"registered model {NAME} version {model.version} (accuracy {accuracy:.3f})")
    resources = PredictorResources(
        num_instances=2,
        requests=Resources(cores=0.2, memory=128, gpus=0),
        limits=Resources(cores=1, memory=512, gpus=0),
    )
    predictor = project.get_model_serving().create_predictor(
        model, name=name, script_file="predictor.py", resources=resources
    )
    return predictor.deploy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name-file", type=Path, help="write the deployment's name here")
    args = parser.parse_args()
    project = shipyard.login()
    deployment, name = existing(project.get_model_serving())
    if deployment is not None:
        print(f"deployment {name} already runs revision {deployment.revision}: using it")
    else:
        deployment = deploy(project, name)
    if args.name_file:
        args.name_file.write_text(name + "\n")
    print(f"deployment {name} is {deployment.get_state().state}")

    answer = deployment.predict(inputs=SAMPLES)
    print(f"V1 prediction for {SAMPLES}: {answer['predictions']}")
    v2 = httpx.post(
        deployment.endpoints["v2"],
        headers={"Authorization": f"ApiKey {api_key()}"},
        json={"inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP32", "data": SAMPLES}]},
    ).json()
    print(f"V2 prediction: {v2['outputs'][0]['data']}")


if __name__ == "__main__":
    main()
