"""``EnvironmentApi``: the base-environment catalogue (list, get, add) and builds."""

from __future__ import annotations

import re

import pytest

from shipyard.errors import AlreadyExists, Forbidden, InvalidSpec
from shipyard.sdk import EnvironmentApi, Project
from shipyard.spec.environment import BaseEnvironment

pytestmark = pytest.mark.unit

ML_ALIAS = "md-base/python/machine-learning:1.1.0"


@pytest.fixture
def envs(project: Project) -> EnvironmentApi:
    return project.get_environment_api()


def test_get_environments_lists_the_catalogue_with_its_pins(fake, envs: EnvironmentApi) -> None:
    found = envs.get_environments()

    assert [e.ref for e in found] == ["shipyard/machine-learning:1.0.0", "shipyard/python:1.0.0"]
    ml, python = found
    assert ml.packages == ["numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.9.1"]
    assert ml.aliases == [ML_ALIAS] and ml.builtin
    assert python.packages == []
    assert (fake.requests[-1].method, fake.requests[-1].url.path) == ("GET", "/api/v1/environments")


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


def test_ref_with_slashes_and_colon_reaches_the_server_unescaped(fake, envs) -> None:
    envs.get_environment(ML_ALIAS)

    assert fake.requests[-1].url.raw_path == f"/api/v1/environments/{ML_ALIAS}".encode()


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
    assert "shipyard/machine-learning:1.0.0, shipyard/python:1.0.0" in message
    assert caught.value.details["errors"][0]["value"] == "team/nlp:2.0"


def test_create_environment_posts_the_entry_and_returns_the_servers(fake, envs) -> None:
    created = envs.create_environment(
        "team/nlp",
        "1.0.0",
        ("spacy==3.8.0", "numpy==2.4.6"),
        description="NLP",
        python="3.12",
        aliases=["md-base/python/nlp:1.0.0"],
    )

    request = fake.requests[-1]
    assert (request.method, request.url.path) == ("POST", "/api/v1/environments")
    assert fake.posted_environments == [
        {
            "name": "team/nlp",
            "version": "1.0.0",
            "description": "NLP",
            "packages": ["spacy==3.8.0", "numpy==2.4.6"],
            "python": "3.12",
            "image": "python:3.11-slim",
            "aliases": ["md-base/python/nlp:1.0.0"],
        }
    ]
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


def test_create_existing_version_is_already_exists(fake, envs: EnvironmentApi) -> None:
    with pytest.raises(AlreadyExists, match=re.escape("shipyard/python:1.0.0 already exists")):
        envs.create_environment("shipyard/python", "1.0.0", ["numpy==2.4.6"])

    assert len(envs.get_environments()) == 2


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
    fake, envs: EnvironmentApi, name: str, version: str, packages: object, field: str
) -> None:
    with pytest.raises(InvalidSpec, match=f"invalid base environment: {field}: "):
        envs.create_environment(name, version, packages)  # type: ignore[arg-type]

    assert fake.posted_environments == []


def test_get_builds_returns_the_manifests(fake, envs: EnvironmentApi) -> None:
    build = {
        "key": "3f2a9c",
        "base": "shipyard/machine-learning:1.0.0",
        "image": "python:3.11-slim",
        "python": "3.11.9",
        "platform": "linux-x86_64",
        "requirements": ["scikit-learn==1.9.1"],
        "lock": "numpy==2.4.6\nscikit-learn==1.9.1\n",
        "built_at": 1735689600.0,
        "path": "/srv/shipyard/environments/venvs/3f2a9c",
    }
    fake.builds = [build]

    assert envs.get_builds() == [build]
    assert fake.requests[-1].url.path == "/api/v1/environments/builds"


def test_builds_and_create_need_an_administrator_key(fake, envs: EnvironmentApi) -> None:
    fake.admin = False

    with pytest.raises(Forbidden, match="administrator key"):
        envs.get_builds()
    with pytest.raises(Forbidden, match="administrator key"):
        envs.create_environment("team/nlp", "1.0.0")
    assert len(envs.get_environments()) == 2  # reading the catalogue needs no administrator
