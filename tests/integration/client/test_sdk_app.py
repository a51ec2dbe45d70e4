"""The SDK against the real API app (in process, SQLite, fake backend)."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard.errors import AlreadyExists, Conflict, InvalidSpec, NotFound
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Project
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


def test_deploy_edit_in_place_and_roll_back(project: Project, model_dir: Path) -> None:
    model = project.get_model_registry().python.create_model("iris").save(str(model_dir))
    ms = project.get_model_serving()
    resources = PredictorResources(
        num_instances=1, requests=Resources(0.2, 64), limits=Resources(1, 256)
    )
    deployment = ms.create_predictor(model, script_file="predictor.py", resources=resources).deploy(
        await_update=30
    )
    assert (deployment.revision, deployment.get_state().state) == (1, "RUNNING")
    deployment.predictor.resources.num_instances = 2
    deployment.predictor.resources.limits.memory = 512
    deployment.save(await_update=30, quiet=True)
    assert deployment.revision == 2
    assert deployment.get_state().available_instances == {"predictor": 2}
    stored = ms.get_deployment("iris").predictor.resources
    assert (stored.num_instances, stored.limits.memory) == (2, 512)
    changes = deployment.get_revisions()[-1].changes
    assert any("limits.memory" in line for line in changes)
    deployment.rollback(1, await_update=30, quiet=True)
    assert deployment.revision == 3
    assert deployment.predictor.resources.num_instances == 1
    with pytest.raises(Conflict):
        deployment.rollback(1, await_update=None)


def test_server_side_validation_names_the_field(project: Project, model_dir: Path) -> None:
    model = project.get_model_registry().python.create_model("iris").save(str(model_dir))
    predictor = project.get_model_serving().create_predictor(model, script_file="predictor.py")
    predictor.resources.requests.memory = 4096  # above the default 1024 MiB limit
    with pytest.raises(InvalidSpec) as caught:
        predictor.deploy()
    assert "memory" in caught.value.message
    predictor.resources.requests.memory = 64
    predictor.script_file = "missing.py"
    with pytest.raises(InvalidSpec, match=r"missing\.py"):
        predictor.deploy()


def test_stop_start_delete_and_name_reuse(project: Project, model_dir: Path) -> None:
    model = project.get_model_registry().python.create_model("iris").save(str(model_dir))
    ms = project.get_model_serving()
    deployment = ms.create_predictor(model, script_file="predictor.py").deploy(await_update=30)
    with pytest.raises(AlreadyExists):
        ms.create_predictor(model, script_file="predictor.py").deploy()
    deployment.stop(await_stopped=30, quiet=True)
    assert deployment.is_stopped()
    deployment.start(await_running=30, quiet=True)
    assert deployment.is_running(or_idle=False, or_updating=False)
    deployment.delete(await_deleted=30)
    with pytest.raises(NotFound):
        ms.get_deployment("iris")
    again = ms.create_predictor(model, script_file="predictor.py").deploy(await_update=30)
    assert again.revision == 1  # the name was free at once


def test_logs_of_current_replicas_and_all(api: LiveApi, project: Project, model_dir: Path) -> None:
    model = project.get_model_registry().python.create_model("iris").save(str(model_dir))
    deployment = (
        project.get_model_serving()
        .create_predictor(model, script_file="predictor.py")
        .deploy(await_update=30)
    )
    (replica,) = deployment.get_state().replicas
    api.backend.replicas[replica.id].logs.append("loaded in 0.1 s")
    lines = deployment.read_logs()
    assert [(x.replica, x.line) for x in lines] == [(replica.id, "loaded in 0.1 s")]


def test_model_versions_are_deleted_unless_used(project: Project, model_dir: Path) -> None:
    mr = project.get_model_registry()
    first = mr.python.create_model("iris").save(str(model_dir))
    second = mr.python.create_model("iris").save(str(model_dir))
    project.get_model_serving().create_predictor(first, script_file="predictor.py").deploy(
        await_update=30
    )
    with pytest.raises(Conflict, match="used by deployment"):
        first.delete()
    second.delete()
    assert [m.version for m in mr.get_models("iris")] == [1]
    assert mr.python.create_model("iris").save(str(model_dir)).version == 3
    with pytest.raises(Conflict):
        mr.delete_model("iris")


def test_a_fiddler_alias_warns_and_the_fiddler_client_works(
    api: LiveApi, project: Project, tmp_path: Path
) -> None:
    import shipyard.fiddler as fdl

    created = project.create_project("example-project")
    model_dir = tmp_path / "fiddler"
    model_dir.mkdir()
    (model_dir / "package.py").write_text("def get_model():\n    return None\n")
    params = fdl.DeploymentParams(
        image_uri="md-base/python/python-39:1.1.0", cpu=250, memory=128, replicas=1
    )
    with fdl.FiddlerApi(url=api.host, auth_token=created.api_key) as client:
        with pytest.warns(shipyard.ShipyardWarning, match="is an alias"):
            deployed = client.add_model_artifact(
                "example_project", "example_model", model_dir, params, timeout=30
            )
        assert (deployed.name, deployed.cpu, deployed.memory) == ("example-model", 250, 128)
        with pytest.warns(shipyard.ShipyardWarning, match="is an alias"):
            scaled = client.update_model_deployment(
                "example_project", "example_model", replicas=2, timeout=30
            )
        assert scaled.replicas == 2
