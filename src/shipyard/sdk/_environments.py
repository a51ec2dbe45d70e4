"""``EnvironmentApi``: the catalogue of base environments (list, get, add) and their builds."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from shipyard.sdk._components import parse_answer
from shipyard.sdk._http import Connection
from shipyard.sdk._invalid import build_spec
from shipyard.spec.environment import BaseEnvironment, BuildLog, EnvironmentBuild


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

    def get_builds(self) -> list[EnvironmentBuild]:
        """Builds of the environments this project's deployments use (an administrator key:
        every build), newest first: state, step, times, locked packages, size, deployments."""
        body = self._connection.json("GET", "/environments/builds")
        return [parse_answer(EnvironmentBuild, item, "environment build") for item in body]

    def get_build(self, build_id: str) -> EnvironmentBuild:
        """One build by id (a deployment's ``status.environments[component].build``).

        Raises:
            InvalidInput: ``build_id`` is not 16 hex digits.
            NotFound: None of this project's deployments uses such a build.
        """
        body = self._connection.json("GET", f"/environments/builds/{quote(build_id, safe='')}")
        return parse_answer(EnvironmentBuild, body, "environment build")

    def get_build_log(self, build_id: str, *, tail: int = 200) -> BuildLog:
        """The last ``tail`` lines of a build's log: uv's resolver and installer output; a
        failed build ends with the resolver's own reason.

        Raises:
            InvalidInput: ``build_id`` is not 16 hex digits.
            InvalidSpec: ``tail`` is not between 1 and 10000.
            NotFound: None of this project's deployments uses such a build.
        """
        path = f"/environments/builds/{quote(build_id, safe='')}/log"
        body = self._connection.json("GET", path, params={"tail": tail})
        return parse_answer(BuildLog, body, "environment build log")
