"""The main job: register the iris model, deploy it with 2 instances, and predict (V1 and V2).

Run by ``bash scripts/quickstart.sh`` once the server is up; uses only the public SDK.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import httpx

import shipyard
from shipyard.resources import PredictorResources, Resources

sys.path.insert(0, str(Path(__file__).parent / "iris"))
from train import train

SAMPLES = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6], [5.1, 3.5, 1.4, 0.2]]


def api_key() -> str:
    """The key the SDK found: SHIPYARD_API_KEY, else $SHIPYARD_HOME/api-key."""
    if os.environ.get("SHIPYARD_API_KEY"):
        return os.environ["SHIPYARD_API_KEY"]
    home = Path(os.environ.get("SHIPYARD_HOME", Path.home() / ".shipyard"))
    return (home / "api-key").read_text().strip()


def main() -> None:
    project = shipyard.login()
    mr = project.get_model_registry()
    with tempfile.TemporaryDirectory() as tmp:
        accuracy = train(Path(tmp))
        model = mr.sklearn.create_model(
            "iris",
            metrics={"accuracy": accuracy},
            description="Logistic regression on the iris data set",
            input_example=SAMPLES[:1],
        )
        model.save(tmp)
    print(f"registered model iris version {model.version} (accuracy {accuracy:.3f})")

    ms = project.get_model_serving()
    try:
        ms.get_deployment("iris").delete()
        print("removed the previous iris deployment")
    except shipyard.NotFound:
        pass
    resources = PredictorResources(
        num_instances=2,
        requests=Resources(cores=0.2, memory=128, gpus=0),
        limits=Resources(cores=1, memory=512, gpus=0),
    )
    predictor = ms.create_predictor(
        model, name="iris", script_file="predictor.py", resources=resources
    )
    deployment = predictor.deploy()
    print(f"deployment iris is {deployment.get_state().state}")

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
