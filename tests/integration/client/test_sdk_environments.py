"""``EnvironmentApi``: the base-environment catalogue (list, get, add) and builds, against the
real API app (``tests.live_api``) and its built-in catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipyard.errors import AlreadyExists, Forbidden, InvalidSpec
from shipyard.sdk import EnvironmentApi, Project, login
from shipyard.spec.environment import BaseEnvironment
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration

ML_ALIAS = "md-base/python/machine-learning:1.1.0"
BUILTIN = [
    "shipyard/deep-learning:1.0.0",
    "shipyard/machine-learning:1.0.0",
    "shipyard/python:1.0.0",
]


@pytest.fixture
def envs(project: Project) -> EnvironmentApi:
    return project.get_environment_api()


def test_get_environments_lists_the_catalogue_with_its_pins(envs: EnvironmentApi) -> None:
    found = envs.get_environments()
    assert [e.ref for e in found] == BUILTIN
    ml = found[1]
    assert "scikit-learn==1.9.1" in ml.packages
    assert ml.aliases == [ML_ALIAS] and ml.builtin
    assert found[2].packages == []


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("shipyard/python:1.0.0", "shipyard/python:1.0.0"),
        ("shipyard/machine-learning", "shipyard/machine-learning:1.0.0"),
        ("md-base/python/python-39:1.1.0", "shipyard/python:1.0.0"),
        (ML_ALIAS, "shipyard/machine-learning:1.0.0"),
    ],
)
def test_get_environment_by_ref_name_or_alias(envs: EnvironmentApi, ref: str, expected: str):
    assert envs.get_environment(ref).ref == expected


def test_get_environment_by_name_is_its_newest_version(envs: EnvironmentApi) -> None:
    envs.create_environment("shipyard/python", "1.10.0")
    envs.create_environment("shipyard/python", "1.9.0")
    assert envs.get_environment("shipyard/python").version == "1.10.0"
    assert envs.get_environment("shipyard/python:1.0.0").version == "1.0.0"


def test_unknown_environment_is_invalid_spec_listing_the_known_refs(envs) -> None:
    with pytest.raises(InvalidSpec) as caught:
        envs.get_environment("team/nlp:2.0")
    message = caught.value.message
    assert "unknown base environment 'team/nlp:2.0'" in message
    assert ", ".join(BUILTIN) in message


def test_create_environment_returns_the_servers_entry(envs: EnvironmentApi) -> None:
    created = envs.create_environment(
        "team/nlp",
        "1.0.0",
        ("spacy==3.8.0", "numpy==2.4.6"),
        description="NLP",
        python="3.12",
        aliases=["md-base/python/nlp:1.0.0"],
    )
    assert created == BaseEnvironment(
        name="team/nlp",
        version="1.0.0",
        description="NLP",
        packages=["spacy==3.8.0", "numpy==2.4.6"],
        python="3.12",
        aliases=["md-base/python/nlp:1.0.0"],
    )
    assert not created.builtin
    assert envs.get_environment("md-base/python/nlp:1.0.0") == created


def test_create_existing_version_is_already_exists(envs: EnvironmentApi) -> None:
    with pytest.raises(AlreadyExists, match=re.escape("shipyard/python:1.0.0 already exists")):
        envs.create_environment("shipyard/python", "1.0.0", ["numpy==2.4.6"])
    assert len(envs.get_environments()) == 3


def test_create_with_a_taken_alias_is_invalid_spec(envs: EnvironmentApi) -> None:
    with pytest.raises(InvalidSpec, match=re.escape(f"aliases: {ML_ALIAS} already name another")):
        envs.create_environment("team/ml", "1.0.0", aliases=[ML_ALIAS])


@pytest.mark.parametrize(
    ("name", "version", "packages", "field"),
    [
        ("Team NLP", "1.0.0", (), "name"),
        ("team/nlp", "1 0", (), "version"),
        ("team/nlp", "1.0.0", "numpy==2.4.6", "packages"),  # a string, not a list of pins
    ],
)
def test_create_invalid_entry_is_invalid_spec_before_sending(
    envs: EnvironmentApi, name: str, version: str, packages: object, field: str
) -> None:
    with pytest.raises(InvalidSpec, match=f"invalid base environment: {field}: "):
        envs.create_environment(name, version, packages)  # type: ignore[arg-type]
    assert len(envs.get_environments()) == 3


def test_get_builds_returns_the_build_records(project: Project, tmp_path: Path) -> None:
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "predictor.py").write_text("class Predictor:\n    def predict(self, x): ...\n")
    model = project.get_model_registry().python.create_model("m").save(str(model_dir))
    predictor = project.get_model_serving().create_predictor(
        model, script_file="predictor.py", environment="shipyard/python"
    )
    predictor.deploy(await_update=120)
    (build,) = project.get_environment_api().get_builds()
    assert build.base == "shipyard/python:1.0.0"
    assert build.image == "python:3.11-slim"
    assert build.state == "READY" and build.deployments == ["m"]


def test_create_needs_an_administrator_key(api: LiveApi, project: Project) -> None:
    key = project.create_project("team-a").api_key
    with login(api.host, key) as team:
        envs = team.get_environment_api()
        assert envs.get_builds() == []  # a project sees its own builds only (it has none)
        with pytest.raises(Forbidden, match="administrator key"):
            envs.create_environment("team/nlp", "1.0.0")
        assert len(envs.get_environments()) == 3  # reading the catalogue needs no administrator
