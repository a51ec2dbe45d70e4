"""How a Fiddler model maps to a Shipyard deployment: its name, its sizing, and what it reports.

A Fiddler model is served by one deployment named after the model: ``model_id`` lowercased,
``_`` replaced by ``-`` (``example_model`` -> ``example-model``), which must then follow the
deployment name rule of ``shipyard.spec.deployment`` (lowercase letters, digits and ``-``).
``DeploymentParams`` are applied over the stored predictor with the SDK's own conversion
(``DeploymentParams.to_resources``), so values not given keep what the deployment has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.errors import InvalidSpec
from shipyard.sdk import Deployment, DeploymentParams, Predictor
from shipyard.sdk._components import default_deployment_name, deployment_name
from shipyard.sdk._invalid import spec_error
from shipyard.spec.deployment import NAME_RULE
from shipyard.spec.status import DeploymentState
from shipyard.spec.units import cores_to_millicpus


def project_name_for(project_id: str) -> str:
    """The Shipyard project a Fiddler ``project_id`` names: lowercased, ``_`` -> ``-``.

    ``example_project`` -> ``example-project`` (the rule of ``deployment_name_for``).
    """
    return default_deployment_name(project_id)


def deployment_name_for(model_id: str) -> str:
    """The name of the deployment serving ``model_id``: lowercased, ``_`` -> ``-``.

    ``example_model`` -> ``example-model``; ``Churn_V2`` -> ``churn-v2``.

    Raises:
        InvalidSpec: The converted name still breaks the deployment name rule.
    """
    name = default_deployment_name(model_id)
    try:
        return deployment_name(name)
    except InvalidSpec:
        message = (
            f"model_id {model_id!r} cannot name a deployment: lowercased with '_' -> '-' it "
            f"gives {name!r}, but deployment names use {NAME_RULE}; choose such a model_id"
        )
        raise spec_error("model_id", model_id, message) from None


def apply_params(predictor: Predictor, params: DeploymentParams | None) -> bool:
    """Apply ``params`` over ``predictor`` in place; unset values keep the stored ones.

    ``cpu`` (millicpus) and ``memory`` (MiB) become the request and the limit per replica,
    ``replicas`` the number of instances, ``image_uri`` the predictor's environment.

    Returns:
        Whether anything changed.
    """
    if params is None:
        return False
    resources = params.to_resources(predictor.resources)
    environment = params.image_uri if params.image_uri is not None else predictor.environment
    changed = resources != predictor.resources or environment != predictor.environment
    predictor.resources, predictor.environment = resources, environment
    return changed


def check_changes(active: object, params: DeploymentParams) -> DeploymentParams:
    """``params`` if ``active`` is a bool or None and something is to change.

    Raises:
        InvalidSpec: ``active`` is not a bool, or nothing is to change.
    """
    if active is not None and not isinstance(active, bool):
        message = "active must be True (start), False (stop) or None (keep as is)"
        raise spec_error("active", active, message)
    if active is None and params == DeploymentParams():
        message = "nothing to update: pass active=, replicas=, cpu= (millicpus) or memory= (MiB)"
        raise spec_error("update_model_deployment", None, message)
    return params


def change_deployment(
    deployment: Deployment, active: bool | None, params: DeploymentParams, wait_s: float | None
) -> None:
    """Apply ``params`` through one spec update, then stop or start as ``active`` asks.

    A stopped deployment stores the update and, if ``active=True``, starts with it; a running
    one rolls over to it. ``wait_s`` = seconds to wait for the goal (None = do not wait).
    """
    changed = apply_params(deployment.predictor, params)
    if active is False:
        if changed:
            deployment.save(await_update=None)
        deployment.stop(await_stopped=wait_s)
    elif active is True and not deployment.active:
        if changed:  # stored while stopped; start() then runs it
            deployment.save(await_update=None)
        deployment.start(await_running=wait_s)
    elif changed:
        deployment.save(await_update=wait_s)  # waits for RUNNING at the new revision
    elif active is True:
        deployment.start(await_running=wait_s)  # already active: wait until RUNNING


@dataclass(frozen=True)
class ModelDeployment:
    """A Fiddler model's deployment, in Fiddler's units.

    Attributes:
        project_id: The project (the API key's project name).
        model_id: The model's name in the registry.
        name: The deployment's name (``model_id`` converted, see ``deployment_name_for``).
        model_version: The model version it serves.
        image_uri: The base environment (the predictor's ``environment``); None = the server's.
        cpu: Millicpus requested per replica (250 = 0.25 cores).
        memory: MiB requested per replica.
        replicas: Replicas kept when active (also while stopped).
        active: Whether it is meant to run (False after ``active=False``).
        state: The last state seen (None if the server has not reported one).
        revision: The spec revision on the server.
        deployment: The SDK ``Deployment`` (``predict``, ``get_logs``, ``refresh``, ...).
    """

    project_id: str
    model_id: str
    name: str
    model_version: int
    image_uri: str | None
    cpu: int
    memory: int
    replicas: int
    active: bool
    state: DeploymentState | None
    revision: int | None
    deployment: Deployment = field(repr=False, compare=False)

    @classmethod
    def of(cls, project_id: str, deployment: Deployment) -> ModelDeployment:
        """Describe ``deployment`` (as last seen by the SDK) in Fiddler's terms."""
        predictor = deployment.predictor
        requests = predictor.resources.requests
        return cls(
            project_id=project_id,
            model_id=predictor.model_name,
            name=deployment.name,
            model_version=predictor.model_version,
            image_uri=predictor.environment,
            cpu=cores_to_millicpus(requests.cores),
            memory=requests.memory,
            replicas=predictor.resources.num_instances,
            active=deployment.active,
            state=deployment.status.state if deployment.status is not None else None,
            revision=deployment.revision,
            deployment=deployment,
        )
