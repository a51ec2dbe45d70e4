"""The per-invocation state of the CLI: where to connect, and the project once logged in.

Tests inject an ``httpx.MockTransport`` by passing ``obj=CliState(transport=...)`` to
``CliRunner.invoke``; the global ``--host``/``--api-key`` options fill in the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import typer

from shipyard.sdk import Project, login


@dataclass
class CliState:
    """Connection settings of one CLI invocation and the project they lead to."""

    host: str | None = None
    api_key: str | None = None
    transport: httpx.BaseTransport | None = None
    _project: Project | None = field(default=None, init=False, repr=False)

    def project(self) -> Project:
        """Log in on first use (``shipyard.login`` fallbacks apply) and reuse the project."""
        if self._project is None:
            self._project = login(self.host, self.api_key, transport=self.transport)
        return self._project

    def close(self) -> None:
        """Close the connection, if one was opened."""
        if self._project is not None:
            self._project.close()
            self._project = None


def project_of(ctx: typer.Context) -> Project:
    """The logged-in project of the invocation that ``ctx`` belongs to."""
    return ctx.ensure_object(CliState).project()
