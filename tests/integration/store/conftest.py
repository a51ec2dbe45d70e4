"""Store fixtures for the integration tier: one fresh database per test module and backend.

SQLite runs everywhere. PostgreSQL needs ``SHIPYARD_TEST_POSTGRES_URL`` (start a throwaway
server with ``eval "$(.ci/postgres.sh)"``); without it those tests are skipped locally and
fail in CI (``CI=true``), so a misconfigured pipeline cannot pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from shipyard.store import ProjectRecord, Store, open_store

POSTGRES_ENV = "SHIPYARD_TEST_POSTGRES_URL"


def postgres_server_url() -> URL:
    """The server URL from the environment; skips (or fails in CI) when it is not set."""
    raw = os.environ.get(POSTGRES_ENV)
    if not raw:
        message = f'{POSTGRES_ENV} is not set (start a server: eval "$(.ci/postgres.sh)")'
        if os.environ.get("CI") == "true":
            pytest.fail(message + " -- PostgreSQL tests must run in CI", pytrace=False)
        pytest.skip(message)
    return make_url(raw)


def _admin_conninfo(server: URL) -> str:
    return server.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the module."""
    server = postgres_server_url()
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(server), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_conninfo(server), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'shipyard.db'}"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a fresh database of each backend (one per test module)."""
    if request.param == "sqlite":
        return _sqlite_url(tmp_path_factory.mktemp("store"))
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="module")
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def project(store: Store) -> ProjectRecord:
    """A new project per test, so tests sharing a module's database stay independent."""
    return store.create_project(f"p-{uuid.uuid4().hex[:12]}")
