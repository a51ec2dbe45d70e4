"""Alembic environment of the store: runs revisions on the connection ``migrate`` hands in.

Layer: ``shipyard.store`` (loaded by Alembic, not imported). Shipyard runs migrations
programmatically (``shipyard.store.engine.migrate``), which opens the transaction and takes the
migration lock, then passes its connection as ``config.attributes["connection"]``. Without one
(a developer calling Alembic by hand with ``sqlalchemy.url`` set), an engine is made here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shipyard.store.engine import create_store_engine
from shipyard.store.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection to run the migrations")
    engine = create_store_engine(url)
    try:
        with engine.connect() as own:
            _run(own)
            own.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported: run them online")
_run_online()
