"""A deployment's revision history as the SDK hands it out (``deployment.get_revisions()``).

Every change of a deployment's spec is a numbered revision on the server, with who made it,
when, and what it changed; ``deployment.rollback(n)`` makes revision ``n``'s spec current again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.errors import ShipyardError
from shipyard.sdk._components import parse_answer
from shipyard.spec.deployment import DeploymentSpec


class Revision(BaseModel):
    """One revision of a deployment's spec.

    Attributes:
        revision: Its number (1 = as created; each change adds one).
        author: The project whose key made the change.
        change: What it did, in words (``"created"``, ``"rollback to revision 1; ..."``).
        changes: The fields that differ from the previous revision, one
            ``path: old -> new [unit]`` line each (empty for revision 1).
        created_at: When it was made (UTC).
        spec: The deployment's whole spec at this revision.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    revision: int
    author: str = ""
    change: str = ""
    changes: tuple[str, ...] = Field(default=())
    created_at: datetime
    spec: DeploymentSpec


def parse_revisions(body: Any) -> list[Revision]:
    """The server's list of revisions, oldest first.

    Raises:
        ShipyardError: The answer does not match the contract.
    """
    if not isinstance(body, list):
        raise ShipyardError("unexpected revision list from the server: not a list")
    return [parse_answer(Revision, item, "revision") for item in body]
