"""``shipyard.login``: where the SDK finds its server and API key, and the ``Project`` it returns.

Lookup order (first found wins):

- host: the ``host`` argument, ``$SHIPYARD_HOST``, then ``http://127.0.0.1:8470``;
- API key: the ``api_key`` argument, ``$SHIPYARD_API_KEY``, then the file
  ``$SHIPYARD_HOME/api-key`` (``~/.shipyard/api-key`` by default; ``shipyard server`` writes it
  for the default project).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from shipyard.errors import Unauthorized
from shipyard.sdk._http import DEFAULT_TIMEOUT, Connection
from shipyard.sdk._project import Project

DEFAULT_HOST = "http://127.0.0.1:8470"


@dataclass(frozen=True)
class Credentials:
    """Where to connect and with which key."""

    host: str
    api_key: str


def api_key_file(environ: Mapping[str, str]) -> Path:
    """The API key file: ``$SHIPYARD_HOME/api-key`` (default ``~/.shipyard/api-key``)."""
    home = environ.get("SHIPYARD_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".shipyard") / "api-key"


def resolve_credentials(
    host: str | None, api_key: str | None, environ: Mapping[str, str]
) -> Credentials:
    """Fill in ``host`` and ``api_key`` from the environment and the key file.

    Raises:
        Unauthorized: No API key was found anywhere; the message says where it looked.
    """
    resolved_host = host or environ.get("SHIPYARD_HOST") or DEFAULT_HOST
    key = api_key or environ.get("SHIPYARD_API_KEY")
    if not key:
        path = api_key_file(environ)
        if path.is_file():
            key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise Unauthorized(
                "no Shipyard API key: pass api_key=... (CLI: --api-key), set SHIPYARD_API_KEY, "
                f"or create {path} (`shipyard server` writes it for the default project)"
            )
    return Credentials(host=resolved_host, api_key=key)


def login(
    host: str | None = None,
    api_key: str | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
) -> Project:
    """Connect to a Shipyard server and return the project of the API key.

    Args:
        host: Control-plane URL; default ``$SHIPYARD_HOST`` or ``http://127.0.0.1:8470``.
        api_key: API key; default ``$SHIPYARD_API_KEY`` or the ``$SHIPYARD_HOME/api-key`` file.
        transport: Optional httpx transport (for tests: ``httpx.MockTransport``).
        timeout: Timeout of each HTTP request in seconds.

    Returns:
        The caller's ``Project``, holding the connection (close it with ``project.close()``).

    Raises:
        Unauthorized: No API key was found, or the server rejected it.
        BackendUnavailable: The server cannot be reached.
    """
    credentials = resolve_credentials(host, api_key, os.environ)
    connection = Connection(
        credentials.host, credentials.api_key, transport=transport, timeout=timeout
    )
    try:
        return Project.fetch(connection)
    except BaseException:
        connection.close()
        raise
