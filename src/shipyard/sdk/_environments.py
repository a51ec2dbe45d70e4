"""``EnvironmentApi``: the catalogue of base environments (list, get, add) and built ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shipyard.sdk._components import parse_answer
from shipyard.sdk._http import Connection
from shipyard.sdk._invalid import build_spec
from shipyard.spec.environment import BaseEnvironment


class EnvironmentApi:
    """Base environments a deployment's ``environment`` (or ``image_uri``) can name."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_environments(self) -> list[BaseEnvironment]:
        """Every base environment with its pinned packages."""
        body = self._connection.json("GET", "/environments")
        return [parse_answer(BaseEnvironment, item, "environment") for item in body]

    def get_environment(self, ref: str) -> BaseEnvironment:
        """One by ``name:version``, by ``name`` (its newest version) or by an alias.

        Raises:
            InvalidSpec: No such environment (the message lists the known ones).
        """
        body = self._connection.json("GET", f"/environments/{quote(ref, safe='/:')}")
        return parse_answer(BaseEnvironment, body, "environment")

    def create_environment(
        self,
        name: str,
        version: str,
        packages: Sequence[str] = (),
        *,
        description: str = "",
        python: str | None = None,
        image: str = "python:3.11-slim",
        aliases: Sequence[str] = (),
    ) -> BaseEnvironment:
        """Add a base environment (administrator key); name:version is never changed later.

        Raises:
            InvalidSpec: A value is invalid (checked before sending; ``packages`` and
                ``aliases`` must be lists, not one string).
            AlreadyExists: That name:version exists; give the new one another version.
            Forbidden: The API key is not an administrator's.
        """
        fields = {
            "name": name,
            "version": version,
            "packages": packages,
            "description": description,
            "python": python,
            "image": image,
            "aliases": aliases,
        }
        entry = build_spec(lambda: BaseEnvironment.model_validate(fields), "base environment")
        body = self._connection.json(
            "POST", "/environments", json=entry.model_dump(exclude={"builtin"})
        )
        return parse_answer(BaseEnvironment, body, "environment")

    def get_builds(self) -> list[dict[str, Any]]:
        """Virtualenvs built on the server: key, base, Python, lock and container image."""
        body: list[dict[str, Any]] = self._connection.json("GET", "/environments/builds")
        return body
