"""Revision history and rollback in the SDK, against the fake REST API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shipyard.errors import Conflict, InvalidSpec, ModelServeError, NotFound
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Deployment, Model, ModelServing

pytestmark = pytest.mark.unit


@pytest.fixture
def deployment(ms: ModelServing, my_model: Model) -> Deployment:
    return ms.create_predictor(my_model, name="iris").deploy()


def _scale(deployment: Deployment, instances: int, limit_memory: int = 1024) -> None:
    deployment.predictor.resources = PredictorResources(
        num_instances=instances,
        requests=Resources(cores=0.2, memory=32),
        limits=Resources(cores=2, memory=limit_memory),
    )
    deployment.save(await_update=5)


def test_get_revisions_returns_typed_revisions_oldest_first(fake, deployment: Deployment) -> None:
    _scale(deployment, 3)
    revisions = deployment.get_revisions()
    assert [r.revision for r in revisions] == [1, 2]
    first, second = revisions
    assert (first.author, first.change, first.changes) == ("default", "created", ())
    assert second.change == "predictor.resources.num_instances: 1 -> 3"
    assert second.changes == ("predictor.resources.num_instances: 1 -> 3",)
    assert second.created_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert second.spec.predictor.resources.num_instances == 3
    assert fake.requests[-1].url.path == "/api/v1/deployments/iris/revisions"


def test_rollback_creates_a_new_revision_and_waits(fake, deployment: Deployment) -> None:
    _scale(deployment, 3, limit_memory=2048)
    fake.rollout = ["UPDATING", "RUNNING"]
    seen: list[str] = []
    assert deployment.rollback(1, await_update=5, on_status=lambda s: seen.append(s.state)) is (
        deployment
    )
    assert seen == ["UPDATING", "RUNNING"]
    assert deployment.revision == 3
    # the local predictor now describes revision 1's spec, so a later save() keeps it
    assert deployment.predictor.resources.num_instances == 1
    assert deployment.predictor.resources.limits.memory == 1024
    rollback = next(r for r in fake.requests if r.url.path.endswith("/rollback"))
    assert (rollback.method, rollback.content) == ("POST", b'{"revision":1}')
    last = deployment.get_revisions()[-1]
    assert last.change == (
        "rollback to revision 1; predictor.resources.num_instances: 3 -> 1; "
        "predictor.resources.limits.memory: 2048 -> 1024 MiB"
    )


def test_rollback_without_wait_does_not_poll(fake, deployment: Deployment) -> None:
    _scale(deployment, 2)
    deployment.rollback(1, await_update=None)
    assert fake.requests[-1].url.path == "/api/v1/deployments/iris/rollback"
    assert deployment.status is not None and deployment.status.state == "UPDATING"


def test_rollback_to_an_unknown_revision_names_the_known_ones(deployment: Deployment) -> None:
    with pytest.raises(NotFound, match="no revision 7: its revisions are 1 to 1"):
        deployment.rollback(7)


def test_rollback_to_the_current_spec_is_a_conflict(deployment: Deployment) -> None:
    with pytest.raises(Conflict, match="already has the spec of revision 1"):
        deployment.rollback(1)
    assert deployment.revision == 1


def test_rollback_is_validated_like_an_update(fake, deployment: Deployment) -> None:
    _scale(deployment, 2)
    fake.revisions["iris"][0]["spec"]["predictor"]["script_file"] = "gone.py"  # not a model file
    with pytest.raises(InvalidSpec, match="not in the model's files"):
        deployment.rollback(1)
    assert deployment.revision == 2 and fake.deployments["iris"].revision == 2


def test_a_failed_rollback_raises_model_serve_error(fake, deployment: Deployment) -> None:
    _scale(deployment, 2)
    fake.rollout = ["UPDATING", "FAILED"]
    with pytest.raises(ModelServeError, match="is FAILED"):
        deployment.rollback(1, await_update=5)


def test_await_running_waits_for_the_current_revision(fake, deployment: Deployment) -> None:
    fake.rollout = ["UPDATING", "RUNNING"]
    deployment.predictor.resources = PredictorResources(num_instances=2)
    deployment.save(await_update=None)
    status = deployment.await_running(5)
    assert status.state == "RUNNING" and status.observed_revision == 2
