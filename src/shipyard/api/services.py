"""The collaborators the API's handlers use, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.backends.protocol import ReplicaBackend
from shipyard.controller.reconcile import Controller
from shipyard.environments.manager import EnvironmentManager
from shipyard.registry.storage import ArtifactStorage
from shipyard.settings import ServerSettings
from shipyard.store import Store


@dataclass(frozen=True)
class Services:
    settings: ServerSettings
    store: Store
    storage: ArtifactStorage
    controller: Controller
    backend: ReplicaBackend
    environments: EnvironmentManager
    internal_token: str

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.bind}:{self.settings.gateway_port}"
