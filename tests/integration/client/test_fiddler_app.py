"""``shipyard.fiddler`` against the real API app (``tests.live_api``): Fiddler's calls, what the
server stores for them, and the errors that say what to call instead.

The model directory holds a ``package.py`` (``get_model()``); the image is one of Fiddler's bare
Python image names (an alias of ``shipyard/python``: a warning each time it is used)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shipyard.fiddler as fdl
from shipyard.errors import AlreadyExists, Conflict, Forbidden, ModelServeError, NotFound
from shipyard.sdk import Project, login
from shipyard.spec.status import DeploymentState
from tests.live_api import LiveApi

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:.*is an alias:shipyard.sdk._resolution.ShipyardWarning"),
]

PROJECT_ID = "example_project"  # the project example-project
MODEL_ID = "example_model"  # served by the deployment example-model
IMAGE = "md-base/python/python-39:1.1.0"
PACKAGE_PY = "def get_model():\n    return None\n"


def write_model_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.py").write_text(PACKAGE_PY)
    return root


@pytest.fixture
def fiddler_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``model_dir/`` in the current directory, as in Fiddler's docs."""
    monkeypatch.chdir(tmp_path)
    return write_model_dir(tmp_path / "model_dir")


@pytest.fixture
def team_key(project: Project) -> str:
    """The key of the project example-project (Fiddler's 'example_project')."""
    return project.create_project("example-project").api_key


@pytest.fixture
def team(api: LiveApi, team_key: str) -> Iterator[Project]:
    with login(api.host, team_key) as team:
        yield team


@pytest.fixture
def client(api: LiveApi, team_key: str) -> Iterator[Any]:
    with fdl.FiddlerApi(url=api.host, auth_token=team_key) as client:
        yield client


@pytest.fixture
def deployed(client: Any, fiddler_dir: Path) -> Any:
    params = fdl.DeploymentParams(image_uri=IMAGE, cpu=250, memory=512, replicas=1)
    return client.add_model_artifact(
        PROJECT_ID, MODEL_ID, "model_dir/", deployment_params=params, timeout=120
    )


def stored(team: Project) -> Any:
    return team.get_model_serving().get_deployment("example-model")


def test_add_returns_the_deployment_in_fiddler_units(team: Project, deployed: Any) -> None:
    assert isinstance(deployed, fdl.ModelDeployment)
    assert (deployed.project_id, deployed.model_id, deployed.name) == (
        PROJECT_ID,
        MODEL_ID,
        "example-model",
    )
    assert (deployed.cpu, deployed.memory, deployed.replicas) == (250, 512, 1)
    assert (deployed.image_uri, deployed.model_version) == (IMAGE, 1)
    assert deployed.state is DeploymentState.RUNNING and deployed.active
    predictor = stored(team).predictor
    assert (predictor.model_name, predictor.model_version) == (MODEL_ID, 1)
    assert predictor.resources.requests == predictor.resources.limits
    assert predictor.resources.requests.cores == 0.25


def test_add_twice_tells_to_use_update(client: Any, team: Project, deployed: Any) -> None:
    with pytest.raises(AlreadyExists, match=r"use update_model_artifact\(\.\.\.\)"):
        client.add_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/")
    assert [m.version for m in team.get_model_registry().get_models(MODEL_ID)] == [1]


def test_deployment_of_another_model_is_not_taken_over(client: Any, deployed: Any) -> None:
    with pytest.raises(Conflict, match="serves model 'example_model', not 'Example_Model'"):
        client.update_model_deployment(PROJECT_ID, "Example_Model", replicas=2)
    with pytest.raises(Conflict, match="serves model 'example_model'"):
        client.add_model_artifact(PROJECT_ID, "Example_Model", "model_dir/")


def test_update_artifact_serves_the_new_version_and_keeps_params(
    client: Any, team: Project, deployed: Any, tmp_path: Path
) -> None:
    new_dir = write_model_dir(tmp_path / "model_dir_v2")
    result = client.update_model_artifact(PROJECT_ID, MODEL_ID, new_dir, timeout=120)
    assert (result.model_version, result.revision, result.state) == (2, 2, "RUNNING")
    predictor = stored(team).predictor
    assert predictor.model_version == 2
    assert predictor.environment == IMAGE
    assert (result.cpu, result.memory, result.replicas) == (250, 512, 1)


def test_update_artifact_applies_only_the_given_params(client: Any, deployed: Any) -> None:
    params = fdl.DeploymentParams(memory=1024)
    result = client.update_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/", params, timeout=120)
    assert (result.cpu, result.memory, result.replicas) == (250, 1024, 1)
    assert result.image_uri == IMAGE


def test_update_artifact_without_deployment_says_add_first(
    client: Any, team: Project, fiddler_dir: Path
) -> None:
    with pytest.raises(NotFound) as caught:
        client.update_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/")
    assert "model 'example_model' has no deployment" in caught.value.message
    assert "add_model_artifact(...)" in caught.value.message
    assert team.get_model_registry().list_models() == []  # nothing registered


def test_a_failing_deployment_raises_model_serve_error_with_what_to_do(
    api: LiveApi, client: Any, fiddler_dir: Path
) -> None:
    api.backend.fail_start = True
    with pytest.raises(ModelServeError) as caught:
        client.add_model_artifact(PROJECT_ID, MODEL_ID, fiddler_dir, timeout=60)
    message = caught.value.message
    assert "deployment 'example-model' is FAILED" in message
    assert "update_model_artifact(project_id, model_id='example_model', ...)" in message


def test_scale_horizontally_and_vertically(client: Any, team: Project, deployed: Any) -> None:
    result = client.update_model_deployment(PROJECT_ID, MODEL_ID, replicas=3, cpu=1500)
    assert (result.replicas, result.cpu, result.memory, result.revision) == (3, 1500, 512, 2)
    deployment = stored(team)
    assert deployment.get_state().available_instances == {"predictor": 3}
    assert deployment.predictor.resources.limits.cores == 1.5


def test_inactive_stops_keeping_settings_and_active_starts_again(
    client: Any, team: Project, deployed: Any
) -> None:
    stopped = client.update_model_deployment(PROJECT_ID, MODEL_ID, active=False)
    assert stopped.active is False and stopped.state is DeploymentState.STOPPED
    assert (stopped.replicas, stopped.cpu, stopped.memory) == (1, 250, 512)
    started = client.update_model_deployment(PROJECT_ID, MODEL_ID, active=True)
    assert started.active is True and started.state is DeploymentState.RUNNING
    assert (started.replicas, started.cpu, started.memory) == (1, 250, 512)
    assert stored(team).revision == 1  # no spec change


def test_stop_with_new_size_stores_it(client: Any, team: Project, deployed: Any) -> None:
    result = client.update_model_deployment(PROJECT_ID, MODEL_ID, active=False, replicas=2)
    assert (result.active, result.replicas) == (False, 2)
    deployment = stored(team)
    assert (deployment.active, deployment.predictor.resources.num_instances) == (False, 2)


def test_update_deployment_without_deployment_says_add_first(client: Any) -> None:
    with pytest.raises(NotFound, match=r"add_model_artifact\(\.\.\.\) first"):
        client.update_model_deployment(PROJECT_ID, MODEL_ID, replicas=2)


def test_get_model_deployment(client: Any, deployed: Any) -> None:
    found = client.get_model_deployment(PROJECT_ID, MODEL_ID)
    assert found == deployed
    assert found.deployment.name == "example-model"


def test_project_id_must_be_the_keys_project(client: Any) -> None:
    with pytest.raises(Forbidden) as caught:
        client.get_model_deployment("other_project", MODEL_ID)
    message = caught.value.message
    assert "'other_project' (project 'other-project') is not the project of this API key" in message
    assert "shipyard projects create other-project" in message


@pytest.mark.parametrize("project_id", ["example_project", "example-project", "Example_Project"])
def test_fiddler_style_project_ids_name_the_keys_project(
    client: Any, fiddler_dir: Path, project_id: str
) -> None:
    deployed = client.add_model_artifact(project_id, MODEL_ID, "model_dir/", timeout=120)
    assert deployed.name == "example-model"
    assert client.get_model_deployment(project_id, MODEL_ID).replicas == 1
