"""The SQL tables of the store (SQLAlchemy 2 typed ORM), for SQLite and PostgreSQL alike.

Layer: ``shipyard.store``. Desired state (``deployments``, ``deployment_revisions``) is kept
apart from observed state (``deployment_status``). Specs and statuses are JSON documents; a
spec carries a ``schema_version`` so stored documents can be migrated, never pickled.
Changing a table here needs a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    """A fresh row id: a UUID4 as 32 hex characters."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps.

    SQLite has no time zones: values are stored as naive UTC and read back as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given: the store needs aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    quota: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The project's :class:`~shipyard.spec.quota.Quota` (None: no limit)."""


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(8))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Predict and read only: refused on changes."""
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the key stopped working (kept to list it; never authenticates again)."""


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_models_project_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """The highest version number ever given (deleted versions' numbers are never reused)."""


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    framework: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_example: Mapped[Any] = mapped_column(JSON, nullable=True)
    checksum: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[list[str]] = mapped_column(JSON)
    storage_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """Desired state: the current spec (with ``schema_version``) and whether it should run."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_deployments_project_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleting: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeploymentRevision(Base):
    __tablename__ = "deployment_revisions"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(255), default="")
    change: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeploymentStatusRow(Base):
    """Observed state, written by the controller only; kept apart from the desired state."""

    __tablename__ = "deployment_status"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsagePoint(Base):
    """One usage sample (``span_s`` 0) or downsampled bucket of one replica (``store.usage``)."""

    __tablename__ = "usage_points"
    __table_args__ = (Index("ix_usage_points_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(32))
    deployment: Mapped[str] = mapped_column(String(63))
    component: Mapped[str] = mapped_column(String(16))
    replica: Mapped[str] = mapped_column(String(128))
    slot: Mapped[int] = mapped_column(Integer)
    restarts: Mapped[int] = mapped_column(Integer)
    at: Mapped[float] = mapped_column(Float)
    span_s: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    cpu: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    memory: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    memory_peak: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpu_throttled: Mapped[float | None] = mapped_column(Float, nullable=True)
    resources: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class UsageEventRow(Base):
    """An OOM kill, restart or scale change of one deployment (``store.usage``)."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(32))
    deployment: Mapped[str] = mapped_column(String(63))
    at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    component: Mapped[str] = mapped_column(String(16))
    replica: Mapped[str] = mapped_column(String(128))
    slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text)
