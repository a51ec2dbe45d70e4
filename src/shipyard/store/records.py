"""What the store hands out: frozen, typed snapshots of rows (never live ORM objects).

Layer: ``shipyard.store``. The API and the controller read these records; they never see
SQLAlchemy sessions or mapped classes, so a record stays valid after its session is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.quota import Quota

_FROZEN = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class ProjectRecord(BaseModel):
    """A project: the unit of isolation for models, deployments and API keys."""

    model_config = _FROZEN

    id: str
    name: str
    created_at: datetime
    quota: Quota = Quota()


class ApiKeyRecord(BaseModel):
    """An API key as listed: never its secret, only its first characters."""

    model_config = _FROZEN

    id: str
    project_id: str
    prefix: str
    created_at: datetime
    is_admin: bool
    read_only: bool
    revoked_at: datetime | None = None


class KeyGrant(BaseModel):
    """What a valid key grants: its project, admin rights, whether it may change anything."""

    model_config = _FROZEN

    project: ProjectRecord
    is_admin: bool
    read_only: bool
    key_id: str


class ModelVersionRecord(BaseModel):
    """One immutable version of a model: metadata plus where its files are stored."""

    model_config = _FROZEN

    id: str
    project_id: str
    model_name: str
    version: int
    framework: str
    description: str
    metrics: dict[str, float]
    input_example: Any
    checksum: str
    size_bytes: int
    files: list[str]
    storage_path: str
    created_at: datetime


class ModelSummary(BaseModel):
    """A model with the number of its versions (``versions``) and the newest one."""

    model_config = _FROZEN

    name: str
    latest_version: int
    versions: int
    created_at: datetime


class DeploymentRecord(BaseModel):
    """The desired state of a deployment: its current spec revision and whether it should run."""

    model_config = _FROZEN

    id: str
    project_id: str
    name: str
    spec: DeploymentSpec
    revision: int
    active: bool
    deleting: bool
    created_at: datetime
    updated_at: datetime


class RevisionRecord(BaseModel):
    """One past (or the current) spec of a deployment, with who changed it, when and what.

    ``change`` is the summary stored with the revision (``"created"``, the changed fields, or
    ``"rollback to revision N; ..."``); ``changes`` lists the fields that differ from the
    previous revision's spec, one ``path: old -> new`` line each (empty for revision 1).
    """

    model_config = _FROZEN

    revision: int
    spec: DeploymentSpec
    author: str
    change: str
    created_at: datetime
    changes: tuple[str, ...] = ()
