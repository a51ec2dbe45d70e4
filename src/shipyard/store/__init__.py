"""Desired and observed state of the platform, in SQLite (default) or PostgreSQL.

Layer: below ``api``, ``controller`` and ``gateway``; imports only ``spec`` and ``errors``.
Tables are SQLAlchemy 2 models (``tables``), migrated by the Alembic revisions shipped in
``migrations/``. Callers use ``open_store(url)`` and the frozen records it returns.
"""

from __future__ import annotations

from shipyard.store.records import (
    ApiKeyRecord,
    DeploymentRecord,
    KeyGrant,
    ModelSummary,
    ModelVersionRecord,
    ProjectRecord,
    RevisionRecord,
)
from shipyard.store.sql import Store, open_store

__all__ = [
    "ApiKeyRecord",
    "DeploymentRecord",
    "KeyGrant",
    "ModelSummary",
    "ModelVersionRecord",
    "ProjectRecord",
    "RevisionRecord",
    "Store",
    "open_store",
]
