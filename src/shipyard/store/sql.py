"""The SQL store: the ``Store`` class and ``open_store``, its only constructor callers need.

Layer: ``shipyard.store``, below ``api`` and ``controller``, beside ``registry``. ``Store``
combines the per-concept method groups (projects and keys, models, deployments); each method
runs in its own short transaction, so one ``Store`` serves every thread of the server.
"""

from __future__ import annotations

from shipyard.store.deployments import DeploymentStore
from shipyard.store.engine import create_store_engine, migrate
from shipyard.store.model_versions import ModelStore
from shipyard.store.projects import ProjectStore
from shipyard.store.usage import UsageStore


class Store(ProjectStore, ModelStore, DeploymentStore, UsageStore):
    """Desired and observed state of Shipyard in SQLite or PostgreSQL (thread-safe)."""


def open_store(url: str) -> Store:
    """Connect to the database at ``url`` and migrate its schema to the newest revision.

    Safe to call repeatedly and from several processes at once: migrations are serialised
    by a database lock, and a schema already at head is left alone.

    Args:
        url: a SQLAlchemy URL, ``sqlite:///<path>`` or ``postgresql+psycopg://user@host/db``.

    Returns:
        A ready store; call ``close()`` when done.
    """
    engine = create_store_engine(url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
