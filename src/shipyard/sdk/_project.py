"""``Project``: the caller's project, entry point to its model registry and model serving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.sdk._environments import EnvironmentApi
from shipyard.sdk._http import Connection
from shipyard.sdk._keys import KeyApi
from shipyard.sdk._registry import ModelRegistry
from shipyard.sdk._serving import ModelServing


@dataclass(frozen=True)
class NewProject:
    """A project just created, with its first API key (shown once: store it now)."""

    id: str
    name: str
    api_key: str


class Project:
    """The project an API key belongs to (returned by ``shipyard.login``).

    Attributes:
        id: The project id.
        name: The project name.
        created_at: When the project was created (ISO 8601 text, as the server sent it).
        connection: The connection every entity of this project uses.
    """

    def __init__(
        self, connection: Connection, *, id: str, name: str, created_at: str | None = None
    ) -> None:
        self.connection = connection
        self.id = id
        self.name = name
        self.created_at = created_at

    @classmethod
    def fetch(cls, connection: Connection) -> Project:
        """Ask the server which project the connection's API key belongs to."""
        body: dict[str, Any] = connection.json("GET", "/project")
        return cls(
            connection,
            id=str(body["id"]),
            name=str(body["name"]),
            created_at=body.get("created_at"),
        )

    def get_model_registry(self) -> ModelRegistry:
        """The project's model registry (upload and fetch model versions)."""
        return ModelRegistry(self.connection)

    def get_model_serving(self) -> ModelServing:
        """The project's model serving (predictors and deployments)."""
        return ModelServing(self.connection)

    def get_environment_api(self) -> EnvironmentApi:
        """The catalogue of base environments (list, get, add) and the built ones."""
        return EnvironmentApi(self.connection)

    def get_key_api(self) -> KeyApi:
        """The project's API keys (list, create, revoke, rotate) and, for administrators, the
        project list, deletion and quotas."""
        return KeyApi(self.connection)

    def create_project(self, name: str) -> NewProject:
        """Create another project (administrator key) and its first API key.

        Args:
            name: Lowercase letters, digits and '-' (Fiddler's ``example_project`` is
                ``example-project`` here).

        Raises:
            Forbidden: This key is not an administrator key.
            AlreadyExists: A project of that name exists.
            InvalidSpec: The name breaks the naming rule.
        """
        body: dict[str, Any] = self.connection.json("POST", "/projects", json={"name": name})
        project = body["project"]
        return NewProject(id=str(project["id"]), name=str(project["name"]), api_key=body["api_key"])

    def close(self) -> None:
        """Close the connection to the server."""
        self.connection.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project(name={self.name!r}, id={self.id!r})"
