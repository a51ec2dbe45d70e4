"""Which inference endpoint a request names: KServe V1 and Open Inference Protocol V2 paths.

:mod:`shipyard.gateway.app` mounts ``/v1/models/{rest:path}`` and ``/v2/models/{rest:path}`` and
parses ``rest`` here, because the V1 verb follows a colon (``iris:predict``), which path
templates do not express portably. The request is forwarded with its path unchanged; this module
only finds the deployment name and checks that the endpoint exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One inference endpoint: the deployment it targets and what it asks."""

    name: str
    action: str
    """``metadata``, ``ready``, ``predict`` (V1) or ``infer`` (V2)."""
    version: str | None = None
    """The V2 ``/versions/<v>`` segment, if any."""


_V1_ACTIONS = {("GET", None): "metadata", ("POST", "predict"): "predict"}
_V2_ACTIONS = {("GET", None): "metadata", ("GET", "ready"): "ready", ("POST", "infer"): "infer"}


def parse_v1(method: str, rest: str) -> ModelCall | None:
    """Parse what follows ``/v1/models/``: ``<m>`` (GET) or ``<m>:predict`` (POST).

    Returns:
        The call, or None when the path or method names no V1 endpoint.
    """
    if not rest or "/" in rest:
        return None
    name, colon, verb = rest.partition(":")
    action = _V1_ACTIONS.get((method, verb if colon else None))
    if not name or action is None:
        return None
    return ModelCall(name=name, action=action)


def parse_v2(method: str, rest: str) -> ModelCall | None:
    """Parse what follows ``/v2/models/``: ``<m>[/versions/<v>][/ready|/infer]``.

    Returns:
        The call, or None when the path or method names no V2 endpoint.
    """
    name, *tail = rest.split("/")
    version: str | None = None
    if len(tail) >= 2 and tail[0] == "versions":
        version, tail = tail[1], tail[2:]
    if len(tail) > 1:
        return None
    action = _V2_ACTIONS.get((method, tail[0] if tail else None))
    if not name or action is None or version == "":
        return None
    return ModelCall(name=name, action=action, version=version)
