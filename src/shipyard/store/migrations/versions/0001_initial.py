"""Initial schema: projects, API keys, models and versions, deployments, revisions, status.

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(32), primary_key=True)


def _created_at() -> sa.Column[datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def _project_fk() -> sa.Column[str]:
    return sa.Column(
        "project_id",
        sa.String(32),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    )


def _deployment_fk(*, primary_key: bool) -> sa.Column[str]:
    return sa.Column(
        "deployment_id",
        sa.String(32),
        sa.ForeignKey("deployments.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "projects",
        _id(),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        _created_at(),
    )
    op.create_table(
        "api_keys",
        _id(),
        _project_fk(),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        _created_at(),
    )
    op.create_table(
        "models",
        _id(),
        _project_fk(),
        sa.Column("name", sa.String(63), nullable=False),
        _created_at(),
        sa.UniqueConstraint("project_id", "name", name="uq_models_project_name"),
    )
    op.create_table(
        "model_versions",
        _id(),
        sa.Column(
            "model_id",
            sa.String(32),
            sa.ForeignKey("models.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("framework", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("input_example", sa.JSON(), nullable=True),
        sa.Column("checksum", sa.String(80), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("storage_path", sa.Text(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
    )
    op.create_table(
        "deployments",
        _id(),
        _project_fk(),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deleting", sa.Boolean(), nullable=False),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_deployments_project_name"),
    )
    op.create_table(
        "deployment_revisions",
        _deployment_fk(primary_key=True),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        _created_at(),
    )
    op.create_table(
        "deployment_status",
        _deployment_fk(primary_key=True),
        sa.Column("status", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "deployment_status",
        "deployment_revisions",
        "deployments",
        "model_versions",
        "models",
        "api_keys",
        "projects",
    ):
        op.drop_table(table)
