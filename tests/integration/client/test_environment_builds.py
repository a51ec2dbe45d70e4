"""Environment builds and their logs through the SDK, the CLI and the REST API, against the
real API app (``tests.live_api``) building real environments with ``uv``: one that builds,
one whose base pins a package no index has (its log ends with the resolver's reason), and
what another project may see of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import Result

from shipyard.errors import InvalidInput, InvalidSpec, NotFound
from shipyard.sdk import Project, login
from shipyard.spec.environment import BuildState, EnvironmentBuild
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration

MISSING = "shipyard-no-such-package-7f3a"


def deploy(project: Project, model_dir: Path, name: str, environment: str) -> None:
    model = project.get_model_registry().python.create_model(name).save(str(model_dir))
    predictor = project.get_model_serving().create_predictor(
        model, name=name, script_file="predictor.py", environment=environment
    )
    predictor.deploy(await_update=None)


def settled(project: Project, deployment: str) -> EnvironmentBuild:
    """The build of ``deployment`` once it is READY or FAILED (a bounded poll)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for b in project.get_environment_api().get_builds():
            if deployment in b.deployments and b.state is not BuildState.BUILDING:
                return b
        time.sleep(0.2)
    raise AssertionError(f"the build of {deployment} did not finish within 180 s")


@pytest.fixture
def broken(project: Project, model_dir: Path) -> EnvironmentBuild:
    envs = project.get_environment_api()
    envs.create_environment("team/broken", "1", [f"{MISSING}==1.0"])
    deploy(project, model_dir, "broken", "team/broken:1")
    return settled(project, "broken")


def test_a_build_is_listed_ready_with_its_log(project: Project, model_dir: Path) -> None:
    deploy(project, model_dir, "plain", "shipyard/python")
    found = settled(project, "plain")
    assert found.state is BuildState.READY and found.base == "shipyard/python:1.0.0"
    assert found.deployments == ["plain"] and found.environment is not None
    assert found.finished_at is not None and found.duration_s is not None
    assert found.size_bytes is not None and found.size_bytes > 0
    assert found.lock_hash is not None
    status = project.get_model_serving().get_deployment("plain").status
    assert status is not None and status.environments["predictor"].build == found.id
    log = project.get_environment_api().get_build_log(found.id)
    assert any(line.startswith("$ uv venv") for line in log.lines), log.lines
    assert log.lines[-1].startswith("--- ready: built in") and log.state is BuildState.READY


def test_a_failing_build_shows_the_resolver_reason(project: Project, broken) -> None:
    assert broken.state is BuildState.FAILED
    assert MISSING in broken.step and "shipyard environments logs" in broken.step
    log = project.get_environment_api().get_build_log(broken.id, tail=50)
    text = "\n".join(log.lines)
    assert "$ uv pip compile" in text
    assert f"Because {MISSING} was not found" in text and "unsatisfiable" in text, text
    status = project.get_model_serving().get_deployment("broken").status
    assert status is not None and status.environments["predictor"].build == broken.id


def test_another_project_sees_none_of_them(api: LiveApi, project: Project, broken) -> None:
    key = project.create_project("team-a").api_key
    with login(api.host, key) as team:
        envs = team.get_environment_api()
        assert envs.get_builds() == []
        with pytest.raises(NotFound, match=f"environment build '{broken.id}' not found"):
            envs.get_build_log(broken.id)
        with pytest.raises(NotFound, match=broken.id):
            envs.get_build(broken.id)
    assert project.get_environment_api().get_build(broken.id).deployments == ["broken"]


def test_bad_parameters_are_4xx_naming_them(api: LiveApi, project: Project, broken) -> None:
    envs = project.get_environment_api()
    with pytest.raises(InvalidInput, match="'nothex' is invalid: a build id is 16"):
        envs.get_build_log("nothex")
    with pytest.raises(InvalidSpec, match="tail"):
        envs.get_build_log(broken.id, tail=0)
    with pytest.raises(NotFound, match="0123456789abcdef"):
        envs.get_build_log("0123456789abcdef")
    headers = {"Authorization": f"ApiKey {api.api_key}"}
    url = f"{api.host}/api/v1/environments/builds/{broken.id}/log"
    assert httpx.get(url, params={"tail": "many"}, headers=headers).status_code == 422
    assert httpx.get(url).status_code == 401


def test_the_cli_lists_builds_and_prints_a_log(cli: Callable[..., Result], broken) -> None:
    listed = cli("environments", "builds")
    assert listed.exit_code == 0, listed.output
    assert broken.id in listed.stdout and "FAILED" in listed.stdout
    shown = cli("environments", "logs", broken.id, "--tail", "20")
    assert shown.exit_code == 0, shown.output
    assert f"Because {MISSING} was not found" in shown.stdout
    assert shown.stdout.rstrip().endswith(f"[build {broken.id}: FAILED]")
    missing = cli("environments", "logs", "0123456789abcdef")
    assert missing.exit_code != 0 and "0123456789abcdef" in missing.output


def test_the_openapi_document_describes_the_build_routes(api: LiveApi) -> None:
    doc = httpx.get(f"{api.host}/openapi.json").json()
    log = doc["paths"]["/api/v1/environments/builds/{build}/log"]["get"]
    assert {"200", "400", "401", "404", "422"} <= set(log["responses"])
    assert log["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BuildLog"
    )
