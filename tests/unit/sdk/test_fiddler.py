"""``shipyard.fiddler``: the Fiddler-style client against the fake REST API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import shipyard
import shipyard.fiddler as fdl
import shipyard.sdk
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidSpec,
    ModelServeError,
    NotFound,
    Unauthorized,
)
from shipyard.spec.status import DeploymentState

pytestmark = [
    pytest.mark.unit,
    # Fiddler's image names are aliases: each use warns (test_an_image_alias_warns checks it)
    pytest.mark.filterwarnings("ignore:.*is an alias:shipyard.sdk._resolution.ShipyardWarning"),
]

PROJECT_ID = "example_project"
MODEL_ID = "example_model"
IMAGE = "md-base/python/machine-learning:1.1.0"
PACKAGE_PY = "def get_model():\n    return None\n"


def write_model_dir(root: Path, requirements: str = "scikit-learn==1.1.1\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.py").write_text(PACKAGE_PY)
    (root / "requirements.txt").write_text(requirements)
    return root


@pytest.fixture
def fiddler_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``model_dir/`` with a ``package.py``, in the current directory (as in Fiddler's docs)."""
    monkeypatch.chdir(tmp_path)
    return write_model_dir(tmp_path / "model_dir")


@pytest.fixture
def client(fake: Any) -> Any:
    fake.project_name = "example-project"  # Fiddler's 'example_project', as Shipyard names it
    with fdl.FiddlerApi(url=fake.host, auth_token=fake.api_key, transport=fake.transport) as api:
        yield api


@pytest.fixture
def deployed(client: Any, fiddler_dir: Path) -> Any:
    params = fdl.DeploymentParams(image_uri=IMAGE, cpu=250, memory=512, replicas=1)
    return client.add_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/", deployment_params=params)


def last_spec(fake: Any) -> dict[str, Any]:
    spec: dict[str, Any] = fake.posted[-1]["spec"]
    return spec


def calls(fake: Any) -> list[tuple[str, str]]:
    return [(r.method, r.url.path) for r in fake.requests]


# -- the seed example ----------------------------------------------------------------------


def test_an_image_alias_warns(client: Any, fiddler_dir: Path) -> None:
    params = fdl.DeploymentParams(image_uri=IMAGE, cpu=250, memory=512, replicas=1)
    with pytest.warns(shipyard.ShipyardWarning) as caught:
        client.add_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/", deployment_params=params)
    (warning,) = [str(w.message) for w in caught]
    assert f"predictor.environment: {IMAGE} is an alias" in warning
    assert "scikit-learn==1.1.1" in warning
    assert f"shipyard environments show {IMAGE}" in warning


def test_seed_example_runs_as_written(fake: Any, client: Any, fiddler_dir: Path) -> None:
    # verbatim from Fiddler's "Flexible Model Deployment" page
    PROJECT_ID = "example_project"
    MODEL_ID = "example_model"

    # Specify deployment parameters
    deployment_params = fdl.DeploymentParams(
        image_uri="md-base/python/machine-learning:1.1.0",
        cpu=250,
        memory=512,
        replicas=1,
    )

    # Add model artifact
    client.add_model_artifact(
        project_id=PROJECT_ID,
        model_id=MODEL_ID,
        model_dir="model_dir/",
        deployment_params=deployment_params,
    )

    (upload,) = fake.uploads
    assert upload.members() == ["package.py", "requirements.txt"]
    assert upload.metadata["framework"] == "python"
    assert fake.posted[-1]["start"] is True
    spec = last_spec(fake)
    assert spec["name"] == "example-model"
    predictor = spec["predictor"]
    assert (predictor["model_name"], predictor["model_version"]) == ("example_model", 1)
    assert predictor["environment"] == "md-base/python/machine-learning:1.1.0"
    assert predictor["resources"] == {
        "num_instances": 1,
        "requests": {"cores": 0.25, "memory": 512, "gpus": 0},
        "limits": {"cores": 0.25, "memory": 512, "gpus": 0},
    }
    assert calls(fake)[-1] == ("GET", "/api/v1/deployments/example-model")  # waited
    assert fake.deployments["example-model"].state == "RUNNING"


def test_add_returns_the_deployment_in_fiddler_units(deployed: Any) -> None:
    assert isinstance(deployed, fdl.ModelDeployment)
    assert (deployed.project_id, deployed.model_id, deployed.name) == (
        PROJECT_ID,
        MODEL_ID,
        "example-model",
    )
    assert (deployed.cpu, deployed.memory, deployed.replicas) == (250, 512, 1)
    assert (deployed.image_uri, deployed.model_version) == (IMAGE, 1)
    assert deployed.state is DeploymentState.RUNNING and deployed.active
    assert deployed.deployment.predict(inputs=[[1, 2, 3]]) == {"predictions": [3]}


def test_add_without_wait_does_not_poll(fake: Any, client: Any, fiddler_dir: Path) -> None:
    fake.rollout = ["STARTING"]
    result = client.add_model_artifact(PROJECT_ID, MODEL_ID, fiddler_dir, wait=False)
    assert calls(fake)[-1] == ("POST", "/api/v1/deployments")
    assert result.state is DeploymentState.CREATING


def test_new_version_keeps_the_models_framework(fake: Any, client: Any, fiddler_dir: Path):
    fake.add_version(MODEL_ID, ["model.joblib"], framework="sklearn")
    result = client.add_model_artifact(PROJECT_ID, MODEL_ID, fiddler_dir)
    assert fake.uploads[-1].metadata["framework"] == "sklearn"
    assert result.model_version == 2


def test_add_failing_deployment_raises_model_serve_error_with_the_reason(
    fake: Any, client: Any, fiddler_dir: Path
) -> None:
    fake.rollout = ["STARTING", "FAILED"]
    with pytest.raises(ModelServeError) as caught:
        client.add_model_artifact(PROJECT_ID, MODEL_ID, fiddler_dir)
    message = caught.value.message
    assert "deployment 'example-model' is FAILED: predictor replica 0 failed 3 times" in message
    assert "STARTED=False CrashLoopBackOff" in message
    assert "update_model_artifact(project_id, model_id='example_model', ...)" in message
    assert caught.value.details["state"] == "FAILED"


def test_add_twice_tells_to_use_update(fake: Any, client: Any, deployed: Any) -> None:
    with pytest.raises(AlreadyExists, match=r"use update_model_artifact\(\.\.\.\)"):
        client.add_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/")
    assert len(fake.uploads) == 1  # refused before uploading a version
    assert len(fake.posted) == 1


def test_deployment_of_another_model_is_not_taken_over(fake: Any, client: Any, deployed: Any):
    with pytest.raises(Conflict, match="serves model 'example_model', not 'Example_Model'"):
        client.update_model_deployment(PROJECT_ID, "Example_Model", replicas=2)
    with pytest.raises(Conflict, match="serves model 'example_model'"):
        client.add_model_artifact(PROJECT_ID, "Example_Model", "model_dir/")
    assert len(fake.uploads) == 1


# -- update_model_artifact -------------------------------------------------------------------


def test_update_artifact_puts_the_new_version_and_keeps_params(
    fake: Any, client: Any, deployed: Any, tmp_path: Path
) -> None:
    before = last_spec(fake)
    new_dir = write_model_dir(tmp_path / "model_dir_v2", requirements="scikit-learn==1.3.0\n")
    result = client.update_model_artifact(PROJECT_ID, MODEL_ID, new_dir)
    put = [c for c in calls(fake) if c[0] == "PUT"]
    assert put == [("PUT", "/api/v1/deployments/example-model")]
    spec = last_spec(fake)
    assert spec["predictor"]["model_version"] == 2
    assert spec["predictor"]["resources"] == before["predictor"]["resources"]
    assert spec["predictor"]["environment"] == IMAGE
    assert (result.model_version, result.revision, result.state) == (2, 2, "RUNNING")


def test_update_artifact_applies_only_the_given_params(
    fake: Any, client: Any, deployed: Any
) -> None:
    params = fdl.DeploymentParams(memory=1024)
    result = client.update_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/", params)
    resources = last_spec(fake)["predictor"]["resources"]
    assert resources["requests"] == {"cores": 0.25, "memory": 1024, "gpus": 0}
    assert resources["limits"] == {"cores": 0.25, "memory": 1024, "gpus": 0}
    assert resources["num_instances"] == 1
    assert last_spec(fake)["predictor"]["environment"] == IMAGE
    assert (result.cpu, result.memory) == (250, 1024)


def test_update_artifact_failure_raises_with_the_reason(
    fake: Any, client: Any, deployed: Any
) -> None:
    fake.rollout = ["UPDATING", "FAILED"]
    with pytest.raises(ModelServeError, match="is FAILED: predictor replica 0 failed"):
        client.update_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/")


def test_update_artifact_without_deployment_says_add_first(
    fake: Any, client: Any, fiddler_dir: Path
) -> None:
    with pytest.raises(NotFound) as caught:
        client.update_model_artifact(PROJECT_ID, MODEL_ID, "model_dir/")
    assert "model 'example_model' has no deployment" in caught.value.message
    assert "add_model_artifact(...)" in caught.value.message
    assert fake.uploads == []  # nothing registered


# -- update_model_deployment -----------------------------------------------------------------


def test_scale_horizontally_and_vertically(fake: Any, client: Any, deployed: Any) -> None:
    result = client.update_model_deployment(PROJECT_ID, MODEL_ID, replicas=3, cpu=1500)
    assert calls(fake)[-2] == ("PUT", "/api/v1/deployments/example-model")
    predictor = last_spec(fake)["predictor"]
    assert predictor["resources"] == {
        "num_instances": 3,
        "requests": {"cores": 1.5, "memory": 512, "gpus": 0},
        "limits": {"cores": 1.5, "memory": 512, "gpus": 0},
    }
    assert (predictor["model_version"], predictor["environment"]) == (1, IMAGE)
    assert (result.replicas, result.cpu, result.memory, result.revision) == (3, 1500, 512, 2)


def test_inactive_stops_keeping_settings_and_active_starts_again(
    fake: Any, client: Any, deployed: Any
) -> None:
    stopped = client.update_model_deployment(PROJECT_ID, MODEL_ID, active=False)
    assert ("POST", "/api/v1/deployments/example-model/stop") in calls(fake)
    assert not any(method == "PUT" for method, _ in calls(fake))
    assert stopped.active is False and stopped.state is DeploymentState.STOPPED
    assert (stopped.replicas, stopped.cpu, stopped.memory) == (1, 250, 512)

    started = client.update_model_deployment(PROJECT_ID, MODEL_ID, active=True)
    assert calls(fake)[-2] == ("POST", "/api/v1/deployments/example-model/start")
    assert started.active is True and started.state is DeploymentState.RUNNING
    assert (started.replicas, started.cpu, started.memory) == (1, 250, 512)
    assert fake.deployments["example-model"].revision == 1  # no spec change


def test_stop_with_new_size_stores_it(fake: Any, client: Any, deployed: Any) -> None:
    result = client.update_model_deployment(PROJECT_ID, MODEL_ID, active=False, replicas=2)
    methods = [c for c in calls(fake) if c[0] in ("PUT", "POST")][-2:]
    assert methods == [
        ("PUT", "/api/v1/deployments/example-model"),
        ("POST", "/api/v1/deployments/example-model/stop"),
    ]
    assert last_spec(fake)["predictor"]["resources"]["num_instances"] == 2
    assert (result.active, result.replicas) == (False, 2)


@pytest.mark.parametrize(
    ("kwargs", "field", "fix"),
    [
        ({"cpu": 0.25}, "cpu", "millicpus"),
        ({"memory": 0}, "memory", "MiB"),
        ({"replicas": -1}, "replicas", "0 or more"),
        ({"active": "yes"}, "active", "True (start), False (stop)"),
        ({}, "update_model_deployment", "nothing to update"),
    ],
)
def test_bad_deployment_values_name_field_value_and_fix(
    fake: Any, client: Any, deployed: Any, kwargs: dict[str, Any], field: str, fix: str
) -> None:
    sent = len(fake.requests)
    with pytest.raises(InvalidSpec) as caught:
        client.update_model_deployment(PROJECT_ID, MODEL_ID, **kwargs)
    (error,) = caught.value.details["errors"]
    assert error["field"] == field
    assert fix in caught.value.message
    if kwargs:
        assert error["value"] == next(iter(kwargs.values()))
    assert len(fake.requests) == sent  # refused before any call


def test_bad_params_object_names_field_value_and_unit() -> None:
    with pytest.raises(InvalidSpec) as caught:
        fdl.DeploymentParams(cpu=0.25, memory=512)  # type: ignore[arg-type]
    assert "cpu=0.25" in caught.value.message and "250 = 0.25 cores" in caught.value.message


def test_update_deployment_without_deployment_says_add_first(client: Any) -> None:
    with pytest.raises(NotFound, match=r"add_model_artifact\(\.\.\.\) first"):
        client.update_model_deployment(PROJECT_ID, MODEL_ID, replicas=2)


# -- names, projects, credentials, package -------------------------------------------------


def test_get_model_deployment(client: Any, deployed: Any) -> None:
    found = client.get_model_deployment(PROJECT_ID, MODEL_ID)
    assert found == deployed
    assert found.deployment.name == "example-model"


@pytest.mark.parametrize("model_id", ["bad.model", "-lead", "x" * 64])
def test_model_id_that_cannot_name_a_deployment(fake: Any, client: Any, model_id: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        client.add_model_artifact(PROJECT_ID, model_id, "model_dir/")
    assert caught.value.details["errors"][0]["field"] == "model_id"
    assert "lowercase letters, digits and '-'" in caught.value.message
    assert fake.uploads == []


def test_project_id_must_be_the_keys_project(fake: Any, client: Any) -> None:
    with pytest.raises(Forbidden) as caught:
        client.get_model_deployment("other_project", MODEL_ID)
    message = caught.value.message
    assert "'other_project' (project 'other-project') is not the project of this API key" in message
    assert "project_id='example-project'" in message
    assert "shipyard projects create other-project" in message


@pytest.mark.parametrize("project_id", ["example_project", "example-project", "Example_Project"])
def test_fiddler_style_project_ids_name_the_keys_project(
    client: Any, fiddler_dir: Path, project_id: str
) -> None:
    deployed = client.add_model_artifact(project_id, MODEL_ID, "model_dir/")
    assert deployed.name == "example-model"
    assert client.get_model_deployment(project_id, MODEL_ID).replicas == 1


def test_credentials_default_like_login(fake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_HOST", fake.host)
    monkeypatch.setenv("SHIPYARD_API_KEY", fake.api_key)
    with fdl.FiddlerApi(org_id="acme", transport=fake.transport) as api:
        assert api.project.name == "default"
        assert api.project.connection.host == fake.host


def test_credentials_from_the_key_file(fake: Any, monkeypatch: pytest.MonkeyPatch, tmp_path):
    key_file = tmp_path / "home" / "api-key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(fake.api_key + "\n")
    with fdl.FiddlerApi(url=fake.host, transport=fake.transport) as api:
        assert api.project.name == "default"
    assert fake.requests[-1].headers["authorization"] == f"ApiKey {fake.api_key}"


def test_no_key_anywhere_is_unauthorized(fake: Any) -> None:
    with pytest.raises(Unauthorized, match="no Shipyard API key"):
        fdl.FiddlerApi(url=fake.host, transport=fake.transport)


def test_deployment_params_is_the_sdk_class() -> None:
    assert fdl.DeploymentParams is shipyard.sdk.DeploymentParams is shipyard.DeploymentParams
    assert fdl.ModelServeError is shipyard.ModelServeError
    assert set(fdl.__all__) <= set(dir(fdl))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = fdl.nope


def test_importing_fiddler_is_lazy_and_client_side_only() -> None:
    code = (
        "import sys, json, shipyard.fiddler as fdl\n"
        "names = ('httpx', 'pydantic', 'shipyard.sdk', 'shipyard.api', 'shipyard.store',\n"
        "         'shipyard.controller', 'shipyard.backends', 'fastapi', 'sqlalchemy')\n"
        "first = [m for m in names if m in sys.modules]\n"
        "fdl.FiddlerApi\n"
        "then = [m for m in names if m in sys.modules]\n"
        "print(json.dumps([first, then]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, then = json.loads(done.stdout)
    assert first == []
    assert set(then) == {"httpx", "pydantic", "shipyard.sdk"}
