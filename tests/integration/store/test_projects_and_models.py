"""Store contract for projects, API keys and model versions, run on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import Any

import pytest

from shipyard.errors import AlreadyExists, InvalidSpec, NotFound
from shipyard.store import ProjectRecord, Store

pytestmark = pytest.mark.integration


def _version(store: Store, project_id: str, name: str, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "framework": "sklearn",
        "description": "",
        "metrics": {"accuracy": 0.97},
        "input_example": {"instances": [[5.1, 3.5, 1.4, 0.2]]},
        "checksum": "sha256:" + "0" * 64,
        "size_bytes": 5 * 2**30,  # > 2**32: sizes are 64-bit
        "files": ["model.joblib"],
        "storage_path": f"/artifacts/{project_id}/{name}/x",
    }
    fields.update(overrides)
    return store.create_model_version(project_id, name, **fields)


def test_default_project_is_created_once_even_when_raced(store: Store) -> None:
    barrier = threading.Barrier(4)

    def ensure() -> tuple[ProjectRecord, str | None]:
        barrier.wait()
        return store.ensure_default_project()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ensure(), range(4)))
    keys = [key for _, key in results if key is not None]
    assert len(keys) == 1
    assert len({project.id for project, _ in results}) == 1
    project, key = store.ensure_default_project()
    assert key is None
    assert project.name == "default"
    assert store.authenticate(keys[0]) == (project, True)


def test_project_names_are_unique_and_checked(store: Store) -> None:
    created = store.create_project("team-a")
    assert created.created_at.tzinfo is UTC
    assert store.get_project(created.id) == created
    assert store.get_project_by_name("team-a") == created
    assert created in store.list_projects()
    with pytest.raises(AlreadyExists, match="'team-a'"):
        store.create_project("team-a")
    with pytest.raises(InvalidSpec, match="'Team A'") as caught:
        store.create_project("Team A")
    assert caught.value.details["errors"][0]["field"] == "name"


def test_unknown_projects_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        store.get_project_by_name("nope")
    with pytest.raises(NotFound, match="'0000'"):
        store.get_project("0000")
    with pytest.raises(NotFound):
        store.create_api_key("0000")


def test_api_keys_authenticate_and_only_their_hash_is_kept(
    store: Store, project: ProjectRecord
) -> None:
    key = store.create_api_key(project.id)
    admin = store.create_api_key(project.id, is_admin=True)
    assert key.startswith("sy_") and len(key) > 40
    assert store.authenticate(key) == (project, False)
    assert store.authenticate(admin) == (project, True)
    assert store.authenticate(key + "x") is None
    hashes = store.key_hashes()
    assert hashes[hashlib.sha256(key.encode()).hexdigest()] == project.id
    assert key not in hashes and key not in hashes.values()


def test_versions_count_up_per_model(store: Store, project: ProjectRecord) -> None:
    first = _version(store, project.id, "iris")
    second = _version(store, project.id, "iris", description="retrained", input_example=None)
    other = _version(store, project.id, "wine_v2")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.size_bytes == 5 * 2**30
    assert first.created_at.tzinfo is UTC
    assert store.get_model_version(project.id, "iris", None) == second
    assert store.get_model_version(project.id, "iris", 1) == first
    assert store.get_model_version(project.id, "iris", 2).input_example is None
    assert store.list_model_versions(project.id, "iris") == [first, second]
    summaries = store.list_models(project.id)
    assert [(s.name, s.latest_version, s.versions) for s in summaries] == [
        ("iris", 2, 2),
        ("wine_v2", 1, 1),
    ]


def test_version_numbers_are_per_project(store: Store, project: ProjectRecord) -> None:
    other = store.create_project(f"{project.name}-b")
    _version(store, project.id, "iris")
    assert _version(store, other.id, "iris").version == 1
    assert [m.name for m in store.list_models(other.id)] == ["iris"]


def test_missing_models_and_versions_are_named(store: Store, project: ProjectRecord) -> None:
    with pytest.raises(NotFound, match="model 'ghost'"):
        store.list_model_versions(project.id, "ghost")
    with pytest.raises(NotFound, match="model 'ghost'"):
        store.get_model_version(project.id, "ghost", None)
    _version(store, project.id, "iris")
    with pytest.raises(NotFound, match="model 'iris' has no version 7"):
        store.get_model_version(project.id, "iris", 7)


def test_model_names_are_checked(store: Store, project: ProjectRecord) -> None:
    with pytest.raises(InvalidSpec, match=r"'bad name'.*letters, digits") as caught:
        _version(store, project.id, "bad name")
    assert caught.value.details["errors"][0]["value"] == "bad name"
    with pytest.raises(InvalidSpec):
        _version(store, project.id, "x" * 64)
    with pytest.raises(NotFound):
        _version(store, "0000", "iris")


@pytest.mark.parametrize("uploads", [2, 8])
def test_concurrent_uploads_get_distinct_versions(
    store: Store, project: ProjectRecord, uploads: int
) -> None:
    barrier = threading.Barrier(uploads)

    def upload(index: int) -> int:
        barrier.wait()
        return int(_version(store, project.id, "raced", description=str(index)).version)

    with ThreadPoolExecutor(uploads) as pool:
        versions = sorted(pool.map(upload, range(uploads)))
    assert versions == list(range(1, uploads + 1))
    assert store.list_models(project.id)[0].versions == uploads
