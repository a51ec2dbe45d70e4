"""The usage history: samples and downsampled buckets per replica, and OOM/restart/scale events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _row_id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


def _owner() -> list[sa.Column[str]]:
    return [
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("deployment", sa.String(63), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "usage_points",
        _row_id(),
        *_owner(),
        sa.Column("component", sa.String(16), nullable=False),
        sa.Column("replica", sa.String(128), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("span_s", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cpu", sa.JSON(), nullable=True),
        sa.Column("memory", sa.JSON(), nullable=True),
        sa.Column("memory_peak", sa.Float(), nullable=True),
        sa.Column("cpu_throttled", sa.Float(), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=True),
    )
    op.create_index("ix_usage_points_at", "usage_points", ["at"])
    op.create_table(
        "usage_events",
        _row_id(),
        *_owner(),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("component", sa.String(16), nullable=False),
        sa.Column("replica", sa.String(128), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_index("ix_usage_events_at", "usage_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_usage_events_at", "usage_events")
    op.drop_table("usage_events")
    op.drop_index("ix_usage_points_at", "usage_points")
    op.drop_table("usage_points")
