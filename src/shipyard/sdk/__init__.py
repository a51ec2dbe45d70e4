"""The Shipyard Python SDK, in the shape of Hopsworks' ``hsml`` (see ``shipyard.login``).

Stability: public API (names in ``__all__``); everything in ``_``-modules is internal.

    project = shipyard.login()
    mr, ms = project.get_model_registry(), project.get_model_serving()
    model = mr.sklearn.create_model("iris").save("model_dir")
    deployment = ms.create_predictor(model, resources=PredictorResources(...)).deploy()
    deployment.predict(inputs=[[5.1, 3.5, 1.4, 0.2]])

Fiddler-style sizing: ``ms.create_predictor(model, deployment_params=DeploymentParams(cpu=250,
memory=512, replicas=1))`` (millicpus and MiB; 250 = 0.25 cores). ``deployment.dry_run()`` shows
what the serving tool would apply; settings it applies differently raise ``ShipyardWarning``.
"""

from __future__ import annotations

from shipyard.sdk._components import Transformer
from shipyard.sdk._deployment import Deployment, Predictor
from shipyard.sdk._environments import EnvironmentApi
from shipyard.sdk._http import Connection
from shipyard.sdk._login import login
from shipyard.sdk._logs import LogLine
from shipyard.sdk._model import Model
from shipyard.sdk._params import DeploymentParams
from shipyard.sdk._project import Project
from shipyard.sdk._registry import FrameworkModels, ModelRegistry, ModelSummary
from shipyard.sdk._resolution import ShipyardWarning
from shipyard.sdk._revisions import Revision
from shipyard.sdk._serving import ModelServing

__all__ = [
    "Connection",
    "Deployment",
    "DeploymentParams",
    "EnvironmentApi",
    "FrameworkModels",
    "LogLine",
    "Model",
    "ModelRegistry",
    "ModelServing",
    "ModelSummary",
    "Predictor",
    "Project",
    "Revision",
    "ShipyardWarning",
    "Transformer",
    "login",
]
