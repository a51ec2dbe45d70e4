"""Store contract for deployments, revisions and observed status, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC

import pytest

from shipyard.errors import AlreadyExists, InvalidSpec, NotFound
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec
from shipyard.spec.resources import PredictorResources
from shipyard.spec.status import DeploymentState, DeploymentStatus
from shipyard.store import ProjectRecord, Store

pytestmark = pytest.mark.integration


def _spec(name: str = "iris", *, version: int = 1, instances: int = 1) -> DeploymentSpec:
    return DeploymentSpec(
        name=name,
        predictor=PredictorSpec(
            model_name="iris",
            model_version=version,
            resources=PredictorResources(num_instances=instances),
        ),
    )


def test_created_deployment_is_revision_one(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec(), author="ada")
    assert (record.name, record.revision, record.active, record.deleting) == (
        "iris",
        1,
        True,
        False,
    )
    assert record.spec == _spec()
    assert record.created_at.tzinfo is UTC and record.updated_at == record.created_at
    assert store.get_deployment(project.id, "iris") == record
    assert store.get_deployment_by_id(record.id) == record
    [revision] = store.list_revisions(record.id)
    assert (revision.revision, revision.author, revision.spec) == (1, "ada", _spec())


def test_deployment_names_are_unique_per_project(store: Store, project: ProjectRecord) -> None:
    store.create_deployment(project.id, _spec(), active=False)
    with pytest.raises(AlreadyExists, match="deployment 'iris'"):
        store.create_deployment(project.id, _spec())
    other = store.create_project(f"{project.name}-b")
    assert store.create_deployment(other.id, _spec()).project_id == other.id
    with pytest.raises(NotFound):
        store.create_deployment("0000", _spec())


def test_missing_deployments(store: Store, project: ProjectRecord) -> None:
    with pytest.raises(NotFound, match="deployment 'ghost'"):
        store.get_deployment(project.id, "ghost")
    assert store.get_deployment_by_id("0000") is None
    for call in (
        lambda: store.set_active("0000", True),
        lambda: store.update_spec("0000", _spec()),
        lambda: store.list_revisions("0000"),
        lambda: store.mark_deleting("0000"),
    ):
        with pytest.raises(NotFound, match="'0000'"):
            call()


def test_lists_are_per_project_or_global(store: Store, project: ProjectRecord) -> None:
    other = store.create_project(f"{project.name}-b")
    a = store.create_deployment(project.id, _spec("b"))
    b = store.create_deployment(project.id, _spec("a"))
    c = store.create_deployment(other.id, _spec("a"))
    store.mark_deleting(a.id)
    assert [d.name for d in store.list_deployments(project.id)] == ["a", "b"]
    everything = {d.id: d for d in store.list_deployments()}
    assert {a.id, b.id, c.id} <= everything.keys()
    assert everything[a.id].deleting


def test_update_spec_adds_a_revision(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec())
    updated = store.update_spec(record.id, _spec(instances=3), author="bob", change="scale to 3")
    assert updated.revision == 2
    assert updated.spec.predictor.resources.num_instances == 3
    assert updated.updated_at >= record.updated_at
    assert store.get_deployment(project.id, "iris") == updated
    revisions = store.list_revisions(record.id)
    assert [(r.revision, r.author, r.change) for r in revisions] == [
        (1, "", "created"),
        (2, "bob", "scale to 3"),
    ]
    assert revisions[0].spec == _spec() and revisions[1].spec == updated.spec


def test_update_spec_cannot_rename(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec())
    with pytest.raises(InvalidSpec, match="cannot be renamed"):
        store.update_spec(record.id, _spec("other"))
    assert store.get_deployment_by_id(record.id) == record


def test_start_stop_and_delete_flags(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec(), active=False)
    assert not record.active
    started = store.set_active(record.id, True)
    assert started.active and started.revision == 1
    assert not store.set_active(record.id, False).active
    deleting = store.mark_deleting(record.id)
    assert deleting.deleting
    assert store.get_deployment(project.id, "iris").deleting


def test_status_is_upserted_and_kept_apart(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec())
    other = store.create_deployment(project.id, _spec("other"))
    assert store.get_status(record.id) is None
    store.save_status(record.id, DeploymentStatus(state=DeploymentState.STARTING))
    running = DeploymentStatus(
        state=DeploymentState.RUNNING, observed_revision=1, available_instances={"predictor": 1}
    )
    store.save_status(record.id, running)
    assert store.get_status(record.id) == running
    assert store.get_statuses([record.id, other.id, "0000"]) == {record.id: running}
    assert store.get_statuses([]) == {}
    assert store.get_deployment_by_id(record.id) == record  # desired state untouched


def test_purge_removes_everything_and_is_idempotent(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec())
    store.update_spec(record.id, _spec(version=2))
    store.save_status(record.id, DeploymentStatus(state=DeploymentState.STOPPED))
    store.mark_deleting(record.id)
    store.purge_deployment(record.id)
    assert store.get_deployment_by_id(record.id) is None
    assert store.get_status(record.id) is None
    with pytest.raises(NotFound):
        store.list_revisions(record.id)
    store.purge_deployment(record.id)
    with pytest.raises(NotFound):
        store.save_status(record.id, DeploymentStatus())
    again = store.create_deployment(project.id, _spec())
    assert again.revision == 1 and len(store.list_revisions(again.id)) == 1
