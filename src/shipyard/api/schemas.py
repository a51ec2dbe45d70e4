"""Request and response bodies of the REST API, built from the ``spec`` types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.spec.deployment import DeploymentSpec, Framework
from shipyard.spec.quota import Quota
from shipyard.spec.status import DeploymentStatus
from shipyard.spec.tools import Resolution, resolve
from shipyard.store import (
    ApiKeyRecord,
    DeploymentRecord,
    ModelVersionRecord,
    ProjectRecord,
    RevisionRecord,
)


class _Out(BaseModel):
    model_config = ConfigDict(protected_namespaces=())


class ProjectOut(_Out):
    id: str
    name: str
    created_at: datetime
    quota: Quota = Field(default_factory=Quota, description="Limits of all its deployments.")

    @classmethod
    def of(cls, record: ProjectRecord) -> ProjectOut:
        return cls(id=record.id, name=record.name, created_at=record.created_at, quota=record.quota)


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class ProjectCreated(_Out):
    project: ProjectOut
    api_key: str = Field(description="The new project's key. Shown once: store it now.")


class KeyOut(_Out):
    """An API key as listed: its first characters, never its secret."""

    id: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    created_at: datetime
    read_only: bool = Field(description="Predict and read only.")
    is_admin: bool
    revoked_at: datetime | None = None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> KeyOut:
        return cls(**record.model_dump(exclude={"project_id"}))


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    read_only: bool = Field(default=False, description="A predict-and-read key.")


class KeyCreated(_Out):
    key: KeyOut
    api_key: str = Field(description="The new key. Shown once: store it now.")


class ModelVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    framework: Framework = Framework.PYTHON
    description: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    input_example: Any = None
    version: int | None = Field(
        default=None,
        ge=1,
        description="Save only as this version number (the registry's next one); else 422.",
    )


class ModelVersionOut(_Out):
    name: str
    version: int
    framework: str
    description: str
    metrics: dict[str, float]
    input_example: Any
    checksum: str
    size_bytes: int
    files: list[str]
    created_at: datetime

    @classmethod
    def of(cls, r: ModelVersionRecord) -> ModelVersionOut:
        return cls(
            name=r.model_name,
            version=r.version,
            framework=r.framework,
            description=r.description,
            metrics=r.metrics,
            input_example=r.input_example,
            checksum=r.checksum,
            size_bytes=r.size_bytes,
            files=r.files,
            created_at=r.created_at,
        )


class ModelSummaryOut(_Out):
    name: str
    latest_version: int
    versions: int
    created_at: datetime


class DeploymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: DeploymentSpec
    start: bool = Field(default=True, description="Start serving at once (else state CREATED).")
    dry_run: bool = Field(
        default=False,
        description="Validate and resolve only (any serving tool, even without a backend "
        "here); nothing is stored or run. The answer's `resolution` shows what the tool applies.",
    )


class DeploymentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: DeploymentSpec
    dry_run: bool = Field(default=False, description="Validate and resolve only; store nothing.")


class DeploymentRollback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int = Field(description="The revision whose spec becomes a new revision.")
    dry_run: bool = Field(default=False, description="Validate and resolve only; store nothing.")


class RevisionOut(_Out):
    revision: int
    author: str = Field(description="The project whose key made the change.")
    change: str = Field(description="What the revision did, in words, as stored with it.")
    changes: list[str] = Field(
        description="Fields that differ from the previous revision, `path: old -> new [unit]`."
    )
    created_at: datetime
    spec: DeploymentSpec

    @classmethod
    def of(cls, r: RevisionRecord) -> RevisionOut:
        return cls(
            revision=r.revision,
            author=r.author,
            change=r.change,
            changes=list(r.changes),
            created_at=r.created_at,
            spec=r.spec,
        )


class DeploymentOut(_Out):
    name: str
    spec: DeploymentSpec
    revision: int
    active: bool
    created_at: datetime
    updated_at: datetime
    status: DeploymentStatus
    endpoints: dict[str, str]
    resolution: Resolution = Field(
        description="What the serving tool applies per component (cores, MiB, GPUs per "
        "instance) and a warning for every field it applies differently from the spec."
    )
    dry_run: bool = False

    @classmethod
    def of(
        cls,
        r: DeploymentRecord,
        status: DeploymentStatus | None,
        gateway: str,
        dry_run: bool = False,
    ) -> DeploymentOut:
        return cls(
            name=r.name,
            spec=r.spec,
            revision=r.revision,
            active=r.active,
            created_at=r.created_at,
            updated_at=r.updated_at,
            status=status or DeploymentStatus(message="waiting for the controller"),
            endpoints={
                "v1": f"{gateway}/v1/models/{r.name}:predict",
                "v2": f"{gateway}/v2/models/{r.name}/infer",
            },
            resolution=resolve(r.spec),
            dry_run=dry_run,
        )


class LogLineOut(_Out):
    replica: str
    line: str


class LogsOut(_Out):
    component: str
    lines: list[LogLineOut]


class ErrorBody(BaseModel):
    """The inside of every error answer."""

    code: str = Field(description="Machine-readable error code (e.g. ``invalid_spec``).")
    message: str = Field(description="What is wrong and how to fix it.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "Malformed input"),
        (401, "Missing or invalid API key"),
        (403, "The key may not do this (administrators only)"),
        (404, "No such project, model, version, deployment or endpoint"),
        (405, "Method not allowed on this path"),
        (409, "Conflicts with the current state (exists already, in use, busy)"),
        (413, "Body over the size limit"),
        (422, "A field is invalid (details.errors names each one)"),
        (502, "A serving backend or the gateway could not be reached"),
        (503, "Not ready (no ready replica, stopped, loading)"),
        (504, "A wait ran out"),
    )
}
"""The error answers every operation documents (the API's one error shape)."""
