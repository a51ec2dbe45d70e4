"""SQLite specifics of the store: pragmas, migrations, aware timestamps, versioned spec JSON."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from shipyard.errors import ShipyardError
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec
from shipyard.store import Store, open_store
from shipyard.store.documents import SPEC_SCHEMA_VERSION, decode_spec, encode_spec
from shipyard.store.tables import Base

pytestmark = pytest.mark.unit

SPEC = DeploymentSpec(name="iris", predictor=PredictorSpec(model_name="iris", model_version=1))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "shipyard.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{db_path}")
    yield opened
    opened.close()


def _raw(db_path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(query).fetchall()
    connection.close()
    return rows


def test_creates_the_file_in_wal_mode_with_foreign_keys(store: Store, db_path: Path) -> None:
    assert db_path.exists()
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert _raw(db_path, "SELECT version_num FROM alembic_version") == [("0005",)]


def test_migrations_match_the_mapped_tables(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_open_store_is_repeatable_and_safe_concurrently(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    barrier = threading.Barrier(6)

    def open_one(_: int) -> Store:
        barrier.wait()
        return open_store(url)

    with ThreadPoolExecutor(6) as pool:
        stores = list(pool.map(open_one, range(6)))
    stores[0].create_project("visible")
    assert [p.name for p in stores[-1].list_projects()] == ["visible"]
    for opened in stores:
        opened.close()
    again = open_store(url)
    assert [p.name for p in again.list_projects()] == ["visible"]
    again.close()


def test_timestamps_come_back_aware_utc(store: Store, db_path: Path) -> None:
    project = store.create_project("p")
    assert project.created_at.tzinfo is UTC
    assert store.get_project(project.id).created_at == project.created_at
    [(stored,)] = _raw(db_path, "SELECT created_at FROM projects")
    assert "+" not in str(stored)  # naive UTC on disk


def test_spec_is_stored_as_versioned_json(store: Store, db_path: Path) -> None:
    project = store.create_project("p")
    record = store.create_deployment(project.id, SPEC)
    [(document,)] = _raw(db_path, "SELECT spec FROM deployments")
    stored = json.loads(str(document))
    assert stored["schema_version"] == SPEC_SCHEMA_VERSION
    assert stored["predictor"]["model_name"] == "iris"
    assert record.spec == SPEC


def test_spec_documents_round_trip_and_unknown_versions_are_refused() -> None:
    document = encode_spec(SPEC)
    assert document["schema_version"] == 1
    assert decode_spec(document) == SPEC
    with pytest.raises(ShipyardError, match="schema_version 99"):
        decode_spec({**document, "schema_version": 99})
    with pytest.raises(ShipyardError, match="schema_version None"):
        decode_spec(SPEC.model_dump(mode="json"))


def test_api_keys_are_stored_hashed(store: Store, db_path: Path) -> None:
    project, key = store.ensure_default_project()
    assert key is not None
    query = "SELECT prefix, key_hash, is_admin FROM api_keys"
    [(prefix, key_hash, is_admin)] = _raw(db_path, query)
    assert prefix == key[:8] and is_admin == 1
    assert key not in str(key_hash) and len(str(key_hash)) == 64
    assert store.ensure_default_project() == (project, None)


def test_purge_cascades_through_foreign_keys(store: Store, db_path: Path) -> None:
    project = store.create_project("p")
    record = store.create_deployment(project.id, SPEC)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM deployments WHERE id = :id"), {"id": record.id})
    assert _raw(db_path, "SELECT COUNT(*) FROM deployment_revisions") == [(0,)]
