"""JSON documents kept in the store, and the naming rules checked before anything is written.

Layer: ``shipyard.store``. A stored deployment spec is ``DeploymentSpec.model_dump(mode="json")``
plus ``"schema_version"``; reading strips the key again. When the spec's shape changes, bump
``SPEC_SCHEMA_VERSION`` and add an Alembic revision that rewrites stored documents (specs are
never pickled, so old rows stay readable by a migration).
"""

from __future__ import annotations

from typing import Any

from shipyard.errors import ShipyardError
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.status import DeploymentStatus
from shipyard.spec.validation import check_model_name, check_project_name

SPEC_SCHEMA_VERSION = 1

__all__ = ["check_model_name", "check_project_name"]


def encode_spec(spec: DeploymentSpec) -> dict[str, Any]:
    """The JSON document stored for ``spec``."""
    return {**spec.model_dump(mode="json"), "schema_version": SPEC_SCHEMA_VERSION}


def decode_spec(document: dict[str, Any]) -> DeploymentSpec:
    """The spec stored as ``document`` (see ``encode_spec``)."""
    body = dict(document)
    version = body.pop("schema_version", None)
    if version != SPEC_SCHEMA_VERSION:
        raise ShipyardError(
            f"stored deployment spec has schema_version {version!r}; this Shipyard reads "
            f"version {SPEC_SCHEMA_VERSION}: run a matching Shipyard version"
        )
    return DeploymentSpec.model_validate(body)


def encode_status(status: DeploymentStatus) -> dict[str, Any]:
    return status.model_dump(mode="json")


def decode_status(document: dict[str, Any]) -> DeploymentStatus:
    return DeploymentStatus.model_validate(document)
