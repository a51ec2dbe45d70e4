"""Deleting model versions and models in the store: numbers are never given twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import InvalidSpec, NotFound
from shipyard.store import Store, open_store

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'shipyard.db'}")
    yield opened
    opened.close()


@pytest.fixture
def project(store: Store) -> str:
    return store.create_project("team").id


def upload(store: Store, project: str, name: str = "iris", version: int | None = None) -> int:
    record = store.create_model_version(
        project, name, framework="python", description="", metrics={}, input_example=None,
        checksum="sha256:0", size_bytes=1, files=["predictor.py"], storage_path=f"/a/{name}",
        version=version,
    )  # fmt: skip
    return record.version


def test_a_deleted_version_number_is_never_given_again(store: Store, project: str) -> None:
    assert [upload(store, project) for _ in range(3)] == [1, 2, 3]
    gone = store.delete_model_version(project, "iris", 3)
    assert (gone.version, gone.storage_path) == (3, "/a/iris")
    assert upload(store, project) == 4
    assert [v.version for v in store.list_model_versions(project, "iris")] == [1, 2, 4]
    with pytest.raises(NotFound, match="model 'iris' has no version 3"):
        store.get_model_version(project, "iris", 3)


def test_an_explicit_version_must_be_the_number_the_registry_gives_next(
    store: Store, project: str
) -> None:
    assert upload(store, project, version=1) == 1
    upload(store, project)
    upload(store, project)
    store.delete_model_version(project, "iris", 3)
    with pytest.raises(InvalidSpec, match="next one is 4") as refused:
        upload(store, project, version=3)  # the deleted number is not the next one
    assert refused.value.details["errors"][0]["field"] == "version"
    assert refused.value.details["next_version"] == 4
    assert upload(store, project, version=4) == 4


def test_deleting_a_missing_version_or_model_is_not_found(store: Store, project: str) -> None:
    upload(store, project)
    with pytest.raises(NotFound, match="model 'iris' has no version 7"):
        store.delete_model_version(project, "iris", 7)
    with pytest.raises(NotFound, match="model 'wine' not found"):
        store.delete_model(project, "wine")


def test_deleting_a_model_forgets_every_version(store: Store, project: str) -> None:
    upload(store, project)
    upload(store, project)
    upload(store, project, "wine")
    gone = store.delete_model(project, "iris")
    assert [v.version for v in gone] == [1, 2]
    assert [m.name for m in store.list_models(project)] == ["wine"]
    with pytest.raises(NotFound, match="model 'iris' not found"):
        store.list_model_versions(project, "iris")
    assert upload(store, project) == 1  # a new model of the same name
