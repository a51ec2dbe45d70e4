"""The inference paths of KServe V1 and Open Inference Protocol V2, declared once as a table.

Both processes that parse these paths, the gateway and the replica runtime, match a request
against :data:`ENDPOINTS` with :func:`match`; neither writes its own grammar. Each row is a method,
a path template and the action it names; ``{name}`` is one path segment without ``:`` (the V1
verb follows a colon, ``iris:predict``) and ``{version}`` one segment. A path that matches a row
with another method is :class:`WrongMethod` (405); one that matches no row is None (404). ``HEAD``
is accepted wherever ``GET`` is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What a request asks for."""

    LIST = "list"
    """``GET /v1/models``: the models the caller may reach."""
    METADATA = "metadata"
    READY = "ready"
    PREDICT = "predict"
    """V1 ``:predict``."""
    INFER = "infer"
    """V2 ``/infer``."""
    LIVE = "live"
    SERVER_READY = "server_ready"
    SERVER_METADATA = "server_metadata"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One row of the table: a method and path template, and what they name."""

    method: str
    template: str
    action: Action
    protocol: str
    """``v1``, ``v2`` or ``server`` (health and server metadata, no model)."""


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v1/models", Action.LIST, "v1"),
    Endpoint("GET", "/v1/models/{name}", Action.METADATA, "v1"),
    Endpoint("POST", "/v1/models/{name}:predict", Action.PREDICT, "v1"),
    Endpoint("GET", "/v2/models/{name}", Action.METADATA, "v2"),
    Endpoint("GET", "/v2/models/{name}/versions/{version}", Action.METADATA, "v2"),
    Endpoint("GET", "/v2/models/{name}/ready", Action.READY, "v2"),
    Endpoint("GET", "/v2/models/{name}/versions/{version}/ready", Action.READY, "v2"),
    Endpoint("POST", "/v2/models/{name}/infer", Action.INFER, "v2"),
    Endpoint("POST", "/v2/models/{name}/versions/{version}/infer", Action.INFER, "v2"),
    Endpoint("GET", "/v2/health/live", Action.LIVE, "server"),
    Endpoint("GET", "/v2/health/ready", Action.SERVER_READY, "server"),
    Endpoint("GET", "/v2", Action.SERVER_METADATA, "server"),
)
"""Every inference endpoint of both hops (the gateway adds ``/metrics``, the replica the
bundle path of :mod:`shipyard.wire.bundle`)."""


@dataclass(frozen=True, slots=True)
class Call:
    """A request matched to an endpoint."""

    endpoint: Endpoint
    name: str = ""
    """The model (deployment) named by the path; empty for server endpoints."""
    version: str | None = None
    """The V2 ``/versions/<v>`` segment, if any."""

    @property
    def action(self) -> Action:
        return self.endpoint.action

    @property
    def protocol(self) -> str:
        return self.endpoint.protocol


@dataclass(frozen=True, slots=True)
class WrongMethod:
    """The path exists, for other methods."""

    allowed: tuple[str, ...]


_SEGMENT = {"name": "[^/:]+", "version": "[^/]+"}


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for field, segment in _SEGMENT.items():
        pattern = pattern.replace(re.escape("{" + field + "}"), f"(?P<{field}>{segment})")
    return re.compile(pattern)


_COMPILED = tuple((_compile(e.template), e) for e in ENDPOINTS)


@functools.lru_cache(maxsize=4096)
def match(method: str, path: str) -> Call | WrongMethod | None:
    """The endpoint a request names.

    Args:
        method: the request method (``HEAD`` counts as ``GET``).
        path: the percent-decoded path, without the query string.

    Returns:
        The call; :class:`WrongMethod` if the path exists for other methods only; None if no
        endpoint has this path. Answers are immutable and remembered for the most recent
        paths (a deployment's requests repeat theirs).
    """
    wanted = "GET" if method == "HEAD" else method
    allowed: list[str] = []
    for pattern, endpoint in _COMPILED:
        found = pattern.fullmatch(path)
        if found is None:
            continue
        if endpoint.method != wanted:
            allowed.append(endpoint.method)
            continue
        groups = found.groupdict()
        return Call(endpoint, groups.get("name") or "", groups.get("version"))
    return WrongMethod(tuple(allowed)) if allowed else None
