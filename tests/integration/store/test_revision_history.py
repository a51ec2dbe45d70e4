"""Revision history in the store: who, when and what changed, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC

import pytest

from shipyard.spec.deployment import DeploymentSpec, PredictorSpec
from shipyard.spec.resources import PredictorResources, Resources
from shipyard.store import ProjectRecord, Store

pytestmark = pytest.mark.integration


def _spec(*, instances: int = 1, limit_memory: int = 1024) -> DeploymentSpec:
    resources = PredictorResources(
        num_instances=instances, requests=Resources(0.2, 32), limits=Resources(2, limit_memory)
    )
    return DeploymentSpec(
        name="iris",
        predictor=PredictorSpec(model_name="iris", model_version=1, resources=resources),
    )


def test_each_update_records_its_author_time_and_changed_fields(
    store: Store, project: ProjectRecord
) -> None:
    record = store.create_deployment(project.id, _spec(), author="ada")
    store.update_spec(record.id, _spec(instances=3), author="bob")
    store.update_spec(record.id, _spec(instances=3, limit_memory=2048), author="cy")
    revisions = store.list_revisions(record.id)
    assert [(r.revision, r.author) for r in revisions] == [(1, "ada"), (2, "bob"), (3, "cy")]
    assert [r.change for r in revisions] == [
        "created",
        "predictor.resources.num_instances: 1 -> 3",
        "predictor.resources.limits.memory: 1024 -> 2048 MiB",
    ]
    assert [r.changes for r in revisions] == [
        (),
        ("predictor.resources.num_instances: 1 -> 3",),
        ("predictor.resources.limits.memory: 1024 -> 2048 MiB",),
    ]
    assert all(r.created_at.tzinfo is UTC for r in revisions)
    assert revisions[0].created_at <= revisions[1].created_at <= revisions[2].created_at


def test_a_reason_goes_before_the_changed_fields(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec(), author="ada")
    store.update_spec(record.id, _spec(instances=2, limit_memory=512), author="ada")
    first = store.list_revisions(record.id)[0].spec
    back = store.update_spec(record.id, first, author="bob", reason="rollback to revision 1")
    assert back.revision == 3 and back.spec == first
    last = store.list_revisions(record.id)[-1]
    assert last.change == (
        "rollback to revision 1; predictor.resources.num_instances: 2 -> 1; "
        "predictor.resources.limits.memory: 512 -> 1024 MiB"
    )
    assert last.changes == (
        "predictor.resources.num_instances: 2 -> 1",
        "predictor.resources.limits.memory: 512 -> 1024 MiB",
    )


def test_an_explicit_change_text_is_stored_as_given(store: Store, project: ProjectRecord) -> None:
    record = store.create_deployment(project.id, _spec())
    store.update_spec(record.id, _spec(instances=2), change="scaled by the autoscaler")
    last = store.list_revisions(record.id)[-1]
    assert last.change == "scaled by the autoscaler"
    assert last.changes == ("predictor.resources.num_instances: 1 -> 2",)  # always computed
