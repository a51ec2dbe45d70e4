"""The collaborators the API's handlers use, built once by the composition root.

Handlers never reach into a backend: capacity, logs and the serving tools this server runs are
asked of the controller, which routes each to the deployment's backend."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.backends.cluster.tokens import ModelTokenSigner
from shipyard.controller.reconcile import Controller
from shipyard.controller.validation import SpecValidator
from shipyard.environments.manager import EnvironmentManager
from shipyard.registry.storage import ArtifactStorage
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.quota import Quota
from shipyard.store import Store


@dataclass(frozen=True)
class Services:
    settings: ServerSettings
    store: Store
    storage: ArtifactStorage
    controller: Controller
    environments: EnvironmentManager
    internal_token: str
    model_tokens: ModelTokenSigner | None = None  # pods' model downloads (cluster tools)
    replica_isolation: str = "none"
    """How LOCAL replicas are kept from the server and each other (``/healthz`` says it)."""

    @property
    def validator(self) -> SpecValidator:
        """The one validation path of deployment specs (create, update, rollback, dry run)."""
        return SpecValidator(
            capacity=self.controller,
            model=self.store.get_model_version,
            catalogue=lambda: self.environments.catalogue,
            quota=self._quota,
        )

    def _quota(self, project_id: str, replaced: str | None) -> tuple[Quota, list[DeploymentSpec]]:
        """The project's quota and the specs of its deployments but ``replaced``."""
        quota = self.store.get_project(project_id).quota
        if quota == Quota():
            return quota, []
        others = [
            d.spec
            for d in self.store.list_deployments(project_id)
            if d.id != replaced and not d.deleting
        ]
        return quota, others

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.bind}:{self.settings.gateway_port}"
