"""The Open Inference Protocol's model repository extension, over the caller's deployments.

``POST /v2/repository/index`` lists the deployments of the key's project with their state (V2
vocabulary: ``READY``, ``LOADING``, ``UNAVAILABLE``; Shipyard's own state and message as the
reason); ``POST /v2/repository/models/<m>/load`` and ``.../unload`` start and stop deployment
``<m>``: the gateway asks the control plane (``POST /internal/active``, behind the internal token,
as cold starts do) and, for a load, waits up to the cold-start timeout for a ready replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from shipyard.errors import NotFound, NotReady
from shipyard.wire.routes import DeploymentRoute, RoutingTable

INDEX_PATH = "/v2/repository/index"
_MODELS = "/v2/repository/models/"
_STARTING = frozenset({"CREATING", "CREATED", "STARTING", "UPDATING"})
"""Deployment states whose replicas are on their way (V2 ``LOADING``)."""


def match(path: str) -> tuple[str, str] | None:
    """``("index", "")`` or ``("load"|"unload", model)`` for a repository path, else None."""
    if path == INDEX_PATH:
        return "index", ""
    if not path.startswith(_MODELS):
        return None
    name, _, action = path[len(_MODELS) :].rpartition("/")
    if action in ("load", "unload") and name and "/" not in name:
        return action, name
    return None


def index_entry(route: DeploymentRoute, ready: bool) -> dict[str, str]:
    """One deployment in the index, with its V2 state and Shipyard's as the reason."""
    state = "READY" if ready else "LOADING" if route.state in _STARTING else "UNAVAILABLE"
    reason = route.state + (f": {route.message}" if route.message else "")
    return {"name": route.name, "version": route.model_version, "state": state, "reason": reason}


class Repository:
    """Index, load and unload of one project's deployments (see the module docstring)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        control_url: str,
        token: str,
        table: Callable[[], RoutingTable | None],
        ready: Callable[[DeploymentRoute], bool],
        timeout_s: float,
        changed: Callable[[], asyncio.Event],
    ) -> None:
        self._client = client
        self._url = control_url.rstrip("/") + "/internal/active"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._table = table
        self._ready = ready
        self._timeout_s = timeout_s
        self._changed = changed

    def index(self, table: RoutingTable, project: str, ready_only: bool) -> list[dict[str, str]]:
        """The project's deployments (only the ready ones with ``ready_only``)."""
        entries = []
        for name in table.names(project):
            route = table.route(project, name)
            if route is None:
                continue
            ready = self._ready(route)
            if ready or not ready_only:
                entries.append(index_entry(route, ready))
        return entries

    async def set_active(self, route: DeploymentRoute, active: bool) -> None:
        """Start (and wait for a ready replica) or stop one deployment.

        Raises:
            NotFound: The deployment is gone.
            NotReady: The control plane cannot be reached, or no replica was ready in time.
        """
        body = {"project_id": route.project_id, "name": route.name, "active": active}
        try:
            answer = await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.TransportError as exc:
            raise NotReady(f"the control plane cannot be reached ({type(exc).__name__})") from None
        if answer.status_code == 404:
            raise NotFound(f"deployment '{route.name}' not found")
        if answer.status_code >= 300:
            raise NotReady(f"the control plane answered {answer.status_code} to the load")
        if active:
            await self._wait_ready(route)

    async def _wait_ready(self, route: DeploymentRoute) -> None:
        deadline = time.monotonic() + self._timeout_s
        while True:
            changed = self._changed()
            table = self._table()
            current = table.route(*route.key) if table is not None else None
            if current is not None and current.revision >= route.revision and self._ready(current):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state = current.state if current is not None else "unknown"
                raise NotReady(
                    f"deployment '{route.name}' was started but has no ready replica after "
                    f"{self._timeout_s:g} s (state {state}); its state is in the index"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)


def parse_index_body(body: bytes) -> bool:
    """The ``ready`` flag of an index request body (empty body: false).

    Raises:
        ValueError: The body is not a JSON object or ``ready`` is not a boolean.
    """
    if not body.strip():
        return False
    value: Any = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("the index request body must be a JSON object")
    ready = value.get("ready", False)
    if type(ready) is not bool:
        raise ValueError(f"'ready' must be true or false, got {ready!r}")
    return ready
