"""``FiddlerApi``: Fiddler's model-artifact and model-deployment calls, over the Shipyard SDK.

Each call is a few SDK calls (``ModelRegistry``, ``ModelServing``, ``Deployment``); waits,
unit conversion and error reporting are the SDK's. A model ``model_id`` is served by the
deployment ``deployment_name_for(model_id)`` (``example_model`` -> ``example-model``); a
``project_id`` names the API key's project the same way (``example_project`` ->
``example-project``).
"""

from __future__ import annotations

import os

import httpx

from shipyard.errors import AlreadyExists, ModelServeError, NotFound, ShipyardError
from shipyard.fiddler._artifact import register_version
from shipyard.fiddler._deployment import (
    ModelDeployment,
    apply_params,
    change_deployment,
    check_changes,
    deployment_name_for,
    project_name_for,
)
from shipyard.fiddler._errors import (
    already_deployed,
    not_deployed,
    serves_other_model,
    with_retry_hint,
    wrong_project,
)
from shipyard.sdk import Deployment, DeploymentParams, login
from shipyard.sdk._http import DEFAULT_TIMEOUT

DEFAULT_WAIT_S = 600.0


class FiddlerApi:
    """A Fiddler-style client of one Shipyard server and project.

    Args:
        url: Control-plane URL; default ``$SHIPYARD_HOST`` or ``http://127.0.0.1:8470``.
        org_id: Fiddler's organisation; accepted for compatibility and not used (the API key
            alone names the project).
        auth_token: API key; default ``$SHIPYARD_API_KEY`` or the ``$SHIPYARD_HOME/api-key``
            file (as ``shipyard.login``).
        transport: Optional httpx transport (for tests: ``httpx.MockTransport``).
        timeout: Timeout of each HTTP request in seconds.

    Raises:
        Unauthorized: No API key was found, or the server rejected it.
        BackendUnavailable: The server cannot be reached.
    """

    def __init__(
        self,
        url: str | None = None,
        org_id: str | None = None,
        auth_token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        del org_id  # Shipyard has no organisations
        self.project = login(url, auth_token, transport=transport, timeout=timeout)
        self._registry = self.project.get_model_registry()
        self._serving = self.project.get_model_serving()

    def add_model_artifact(
        self,
        project_id: str,
        model_id: str,
        model_dir: str | os.PathLike[str],
        deployment_params: DeploymentParams | None = None,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_S,
    ) -> ModelDeployment:
        """Register ``model_dir`` as a new version of ``model_id`` and deploy it.

        The deployment is named after the model (lowercased, ``_`` -> ``-``: ``example_model``
        is served by ``example-model``) and sized by ``deployment_params`` (``cpu`` millicpus
        and ``memory`` MiB reserved per replica, ``replicas``, ``image_uri`` = environment);
        unset values take the server's defaults.

        Args:
            project_id: The project of the API key, by name; Fiddler-style ids are mapped as
                model ids are (``example_project`` is the project ``example-project``).
            model_id: The model's name in the registry.
            model_dir: Directory with ``package.py`` (``get_model()``), maybe ``requirements.txt``.
            deployment_params: Sizing and environment; None = the defaults.
            wait: Wait until the deployment is RUNNING.
            timeout: Seconds to wait at most.

        Raises:
            AlreadyExists: The model already has a deployment (use ``update_model_artifact``).
            Conflict: The deployment of that name serves another model.
            ModelServeError: The deployment cannot start; the message gives the server's reason.
            TimeoutExpired: It was not RUNNING within ``timeout``.
            Forbidden: ``project_id`` is not the API key's project.
        """
        name = self._deployment_name(project_id, model_id)
        existing = self._find(name)
        if existing is not None and existing.predictor.model_name != model_id:
            raise serves_other_model(name, existing.predictor.model_name, model_id)
        if existing is not None:
            raise already_deployed(model_id, name)
        model = register_version(self._registry, model_id, model_dir)
        predictor = self._serving.create_predictor(
            model, name=name, deployment_params=deployment_params
        )
        try:
            deployment = predictor.deploy(await_update=timeout if wait else None)
        except AlreadyExists:  # created by someone else meanwhile
            raise already_deployed(model_id, name) from None
        except ModelServeError as exc:
            raise with_retry_hint(exc, model_id) from exc
        return ModelDeployment.of(project_id, deployment)

    def update_model_artifact(
        self,
        project_id: str,
        model_id: str,
        model_dir: str | os.PathLike[str],
        deployment_params: DeploymentParams | None = None,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_S,
    ) -> ModelDeployment:
        """Register ``model_dir`` as a new version of ``model_id`` and serve it instead.

        The model's deployment (``model_id`` lowercased, ``_`` -> ``-``) gets a new spec with
        the new ``model_version`` and ``deployment_params`` applied over its stored settings
        (values not given keep theirs); the server rolls the replicas over to it. A stopped
        deployment stays stopped (start it with ``update_model_deployment(active=True)``).

        Args: as ``add_model_artifact``; ``wait`` waits for RUNNING at the new revision.

        Raises:
            NotFound: The model has no deployment yet (use ``add_model_artifact``).
            ModelServeError: The new version cannot start; the message gives the reason.
            TimeoutExpired: It was not RUNNING within ``timeout``.
            Forbidden: ``project_id`` is not the API key's project.
        """
        deployment = self._get(project_id, model_id)
        model = register_version(self._registry, model_id, model_dir)
        if model.version is None:  # save() always sets it
            raise ShipyardError(f"the server registered model {model_id!r} without a version")
        deployment.predictor.model_version = model.version
        apply_params(deployment.predictor, deployment_params)
        try:
            deployment.save(await_update=timeout if wait else None)
        except ModelServeError as exc:
            raise with_retry_hint(exc, model_id) from exc
        return ModelDeployment.of(project_id, deployment)

    def update_model_deployment(
        self,
        project_id: str,
        model_id: str,
        active: bool | None = None,
        replicas: int | None = None,
        cpu: int | None = None,
        memory: int | None = None,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_S,
    ) -> ModelDeployment:
        """Scale the model's deployment, or stop and start it; unset values keep theirs.

        ``replicas`` scales horizontally, ``cpu`` (millicpus) and ``memory`` (MiB) vertically,
        through one spec update (a rolling update). ``active=False`` stops every replica and
        keeps the settings; ``active=True`` starts them again with the stored settings.

        Raises:
            InvalidSpec: Nothing to change, or a value is out of range (names field and unit).
            NotFound: The model has no deployment (use ``add_model_artifact``).
            ModelServeError: The deployment cannot start; the message gives the reason.
            TimeoutExpired: The goal was not reached within ``timeout``.
        """
        params = check_changes(active, DeploymentParams(cpu=cpu, memory=memory, replicas=replicas))
        deployment = self._get(project_id, model_id)
        change_deployment(deployment, active, params, timeout if wait else None)
        return ModelDeployment.of(project_id, deployment)

    def get_model_deployment(self, project_id: str, model_id: str) -> ModelDeployment:
        """The deployment serving ``model_id``, in Fiddler's units.

        Raises:
            NotFound: The model has no deployment (use ``add_model_artifact``).
        """
        return ModelDeployment.of(project_id, self._get(project_id, model_id))

    def close(self) -> None:
        """Close the connection to the server."""
        self.project.close()

    def __enter__(self) -> FiddlerApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _deployment_name(self, project_id: str, model_id: str) -> str:
        if project_name_for(project_id) != self.project.name:
            raise wrong_project(project_id, self.project.name)
        return deployment_name_for(model_id)

    def _find(self, name: str) -> Deployment | None:
        try:
            return self._serving.get_deployment(name)
        except NotFound:
            return None

    def _get(self, project_id: str, model_id: str) -> Deployment:
        name = self._deployment_name(project_id, model_id)
        deployment = self._find(name)
        if deployment is None:
            raise not_deployed(project_id, model_id, name)
        if deployment.predictor.model_name != model_id:
            raise serves_other_model(name, deployment.predictor.model_name, model_id)
        return deployment
