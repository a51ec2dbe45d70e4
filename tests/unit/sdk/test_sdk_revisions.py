"""Revision history and rollback in the SDK, against the fake REST API."""

from __future__ import annotations

import pytest

from shipyard.errors import ModelServeError
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
