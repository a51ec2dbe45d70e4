"""Revision history and rollback (SDK and CLI) against the real API app (``tests.live_api``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.errors import Conflict, InvalidSpec, ModelServeError, NotFound
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Deployment, Project
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def deployment(project: Project, model_dir: Path) -> Deployment:
    model = project.get_model_registry().python.create_model("iris").save(str(model_dir))
    predictor = project.get_model_serving().create_predictor(
        model, name="iris", script_file="predictor.py"
    )
    return predictor.deploy(await_update=30)


def _scale(deployment: Deployment, instances: int, limit_memory: int = 1024) -> None:
    deployment.predictor.resources = PredictorResources(
        num_instances=instances,
        requests=Resources(cores=0.2, memory=32),
        limits=Resources(cores=2, memory=limit_memory),
    )
    deployment.save(await_update=30, quiet=True)


def test_get_revisions_returns_typed_revisions_oldest_first(deployment: Deployment) -> None:
    _scale(deployment, 3)
    revisions = deployment.get_revisions()
    assert [r.revision for r in revisions] == [1, 2]
    first, second = revisions
    assert (first.author, first.change, first.changes) == ("default", "created", ())
    assert second.change == "predictor.resources.num_instances: 1 -> 3"
    assert second.changes == ("predictor.resources.num_instances: 1 -> 3",)
    assert timedelta(0) <= datetime.now(UTC) - second.created_at < timedelta(minutes=5)
    assert second.spec.predictor.resources.num_instances == 3


def test_rollback_creates_a_new_revision_and_waits(deployment: Deployment) -> None:
    _scale(deployment, 3, limit_memory=2048)
    seen: list[str] = []
    assert deployment.rollback(1, await_update=30, on_status=lambda s: seen.append(s.state)) is (
        deployment
    )
    assert seen[-1] == "RUNNING"
    assert deployment.revision == 3
    assert deployment.get_state().available_instances == {"predictor": 1}
    # the local predictor now describes revision 1's spec, so a later save() keeps it
    assert deployment.predictor.resources.num_instances == 1
    assert deployment.predictor.resources.limits.memory == 1024
    assert deployment.get_revisions()[-1].change == (
        "rollback to revision 1; predictor.resources.num_instances: 3 -> 1; "
        "predictor.resources.limits.memory: 2048 -> 1024 MiB"
    )


def test_rollback_to_an_unknown_revision_names_the_known_ones(deployment: Deployment) -> None:
    with pytest.raises(NotFound, match="no revision 7: its revisions are 1 to 1"):
        deployment.rollback(7)


def test_rollback_to_the_current_spec_is_a_conflict(deployment: Deployment) -> None:
    with pytest.raises(Conflict, match="already has the spec of revision 1"):
        deployment.rollback(1)
    assert deployment.revision == 1


def test_rollback_is_validated_like_an_update(
    project: Project, deployment: Deployment, model_dir: Path
) -> None:
    mr = project.get_model_registry()
    mr.python.create_model("iris").save(str(model_dir))
    deployment.predictor.model_version = 2
    deployment.save(await_update=30, quiet=True)
    mr.get_model("iris", 1).delete()  # revision 1's model version is gone
    with pytest.raises(InvalidSpec, match="version 1"):
        deployment.rollback(1)
    assert deployment.refresh().revision == 2


def test_a_failed_rollback_raises_model_serve_error(api: LiveApi, deployment: Deployment) -> None:
    _scale(deployment, 2, limit_memory=2048)  # rolling back replaces the replicas
    api.backend.fail_start = True  # and the new ones cannot start
    with pytest.raises(ModelServeError, match="is FAILED"):
        deployment.rollback(1, await_update=30, quiet=True)


def test_cli_history_and_rollback(cli, deployment: Deployment) -> None:
    assert cli("deployments", "scale", "iris", "--instances", "2").exit_code == 0
    updated = cli("deployments", "update", "iris", "--limit-memory", "2048", "--limit-cores", "1.5")
    assert updated.exit_code == 0, updated.output
    result = cli("deployments", "history", "iris")
    assert result.exit_code == 0, result.output
    header, *rows = (line.rstrip() for line in result.stdout.splitlines())
    assert header.split() == ["REV", "WHEN", "WHO", "CHANGE"]
    assert [row.split()[0] for row in rows] == ["1", "2", "3"]
    assert all(row.split()[3] == "default" for row in rows)
    assert rows[0].endswith("created")
    assert rows[1].endswith("predictor.resources.num_instances: 1 -> 2")
    assert rows[2].endswith(
        "predictor.resources.limits.cores: 2 -> 1.5 cores; "
        "predictor.resources.limits.memory: 1024 -> 2048 MiB"
    )
    result = cli("deployments", "rollback", "iris", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "deployment iris: revision 4 (rollback to revision 2)",
        "  predictor.resources.limits.cores: 1.5 -> 2 cores",
        "  predictor.resources.limits.memory: 2048 -> 1024 MiB",
    ]
    assert "deployment iris: RUNNING (revision 4" in result.stdout


def test_cli_rollback_errors_are_one_line(cli, deployment: Deployment) -> None:
    result = cli("deployments", "rollback", "iris", "9")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: deployment 'iris' has no revision 9: its revisions are 1 to 1\n",
    )
    result = cli("deployments", "rollback", "iris", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment 'iris' already has the spec of revision 1")
