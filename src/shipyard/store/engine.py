"""Engine setup and schema migrations: the only place that knows SQLite from PostgreSQL.

Layer: ``shipyard.store``. ``create_store_engine`` configures SQLite for a multi-threaded
server (WAL, foreign keys, real transactions, ``BEGIN IMMEDIATE`` for writers) and leaves
PostgreSQL as it is. ``migrate`` runs the Alembic revisions shipped in ``migrations/`` up to
head, serialised across processes (a write lock on SQLite, an advisory lock on PostgreSQL),
so many processes may open the same database at once.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

WRITE_OPTION = "shipyard_write"
"""Execution option marking a connection whose transactions will write (SQLite: take the
write lock up front with ``BEGIN IMMEDIATE`` instead of failing on a lock upgrade later)."""

_SQLITE_BUSY_TIMEOUT_S = 30.0
_MIGRATION_THREAD_LOCK = threading.Lock()  # Alembic's ``context`` proxy is process-global
_MIGRATION_LOCK_KEY = 0x5348_4950_5941_5244 & 0x7FFF_FFFF_FFFF_FFFF  # "SHIPYARD"


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_S},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module (which would not begin a
    # transaction before a SELECT); ``_sqlite_on_begin`` emits BEGIN itself.
    assert isinstance(dbapi_connection, sqlite3.Connection)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    writer = engine.execution_options(**{WRITE_OPTION: True})
    with _MIGRATION_THREAD_LOCK, writer.connect() as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
