"""``shipyard environments ...`` and the environment table of ``deployments status``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ML = "shipyard/machine-learning:1.0.0"
ML_ALIAS = "md-base/python/machine-learning:1.1.0"
ML_PINS = ["numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.9.1"]
NLP_TOML = """\
name = "team/nlp"
version = "1.0.0"
description = "NLP"
packages = ["spacy==3.8.0", "numpy==2.4.6"]
python = "3.12"
aliases = ["md-base/python/nlp:1.0.0"]
"""


def rows_after(stdout: str, header: str) -> list[list[str]]:
    """The whitespace-split rows of the table whose header line starts with ``header``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def assert_one_error_line(result, start: str) -> None:
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {start}"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_list_shows_refs_aliases_and_pin_counts(cli) -> None:
    result = cli("environments", "list")

    assert result.exit_code == 0, result.output
    assert result.stdout.split()[:4] == ["ENVIRONMENT", "ALIASES", "PINS", "DESCRIPTION"]
    assert rows_after(result.stdout, "ENVIRONMENT") == [
        [ML, ML_ALIAS, "3", "Machine", "learning"],
        ["shipyard/python:1.0.0", "md-base/python/python-39:1.1.0", "0", "Bare", "Python"],
    ]


def test_show_by_alias_prints_each_pin(cli, fake) -> None:
    result = cli("environments", "show", ML_ALIAS)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [ML, "Machine", "learning"]
    assert lines[1] == "python: the server interpreter · image: python:3.11-slim"
    assert lines[2] == f"aliases: {ML_ALIAS}"
    assert lines[3:] == [f"  {pin}" for pin in ML_PINS]
    assert fake.requests[-1].url.raw_path == f"/api/v1/environments/{ML_ALIAS}".encode()


def test_show_unknown_ref_is_one_error_line(cli) -> None:
    result = cli("environments", "show", "team/nlp")

    assert_one_error_line(result, "ref: unknown base environment 'team/nlp'; use one of ")
    assert f"{ML}, shipyard/python:1.0.0" in result.stderr


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_add_posts_the_file(cli, fake, tmp_path: Path, suffix: str) -> None:
    file = tmp_path / f"nlp{suffix}"
    if suffix == ".toml":
        file.write_text(NLP_TOML)
    else:
        file.write_text(
            json.dumps(
                {
                    "name": "team/nlp",
                    "version": "1.0.0",
                    "description": "NLP",
                    "packages": ["spacy==3.8.0", "numpy==2.4.6"],
                    "python": "3.12",
                    "aliases": ["md-base/python/nlp:1.0.0"],
                }
            )
        )

    result = cli("environments", "add", str(file))

    assert result.exit_code == 0, result.output
    assert result.stdout == "added base environment team/nlp:1.0.0 (2 pinned packages)\n"
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
    assert cli("environments", "show", "md-base/python/nlp:1.0.0").exit_code == 0


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("nlp.toml", 'name = "team/nlp"\nversion = ', "cannot read a base environment from it"),
        ("nlp.json", '{"name": "team/nlp",', "cannot read a base environment from it"),
        ("nlp.json", '["team/nlp", "1.0.0"]', "needs at least 'name' and 'version'"),
        ("nlp.toml", 'name = "team/nlp"\n', "needs at least 'name' and 'version'"),
        ("nlp.toml", NLP_TOML + "pins = []\n", "unknown key 'pins'"),
        ("nlp.toml", NLP_TOML + "builtin = true\n", "unknown key 'builtin'"),
    ],
)
def test_add_bad_file_is_one_error_line_naming_it(
    cli, fake, tmp_path: Path, name: str, text: str, error: str
) -> None:
    file = tmp_path / name
    file.write_text(text)

    result = cli("environments", "add", str(file))

    assert_one_error_line(result, f"{file}: ")
    assert error in result.stderr
    assert fake.posted_environments == []


def test_add_missing_file_is_one_error_line_naming_it(cli, tmp_path: Path) -> None:
    file = tmp_path / "missing.toml"

    assert_one_error_line(cli("environments", "add", str(file)), f"{file}: cannot read")


def test_add_invalid_value_is_one_error_line(cli, fake, tmp_path: Path) -> None:
    file = tmp_path / "nlp.toml"
    file.write_text(NLP_TOML.replace('"team/nlp"', '"Team NLP"'))

    result = cli("environments", "add", str(file))

    assert_one_error_line(result, "invalid base environment: name: ")
    assert fake.posted_environments == []


def test_add_existing_version_is_one_error_line(cli, tmp_path: Path) -> None:
    file = tmp_path / "python.json"
    file.write_text(json.dumps({"name": "shipyard/python", "version": "1.0.0", "packages": []}))

    result = cli("environments", "add", str(file))

    assert_one_error_line(result, "base environment shipyard/python:1.0.0 already exists")


def test_builds_table(cli, fake) -> None:
    fake.builds = [
        {
            "key": "3f2a9c",
            "base": ML,
            "image": "python:3.11-slim",
            "python": "3.11.9",
            "platform": "linux-x86_64",
            "requirements": ["scikit-learn==1.9.1"],
            "lock": "\n".join(ML_PINS) + "\n",
            "built_at": 1735689600.0,
            "path": "/srv/shipyard/environments/venvs/3f2a9c",
        }
    ]

    result = cli("environments", "builds")

    assert result.exit_code == 0, result.output
    assert rows_after(result.stdout, "KEY") == [["3f2a9c", ML, "3.11.9", "3", "python:3.11-slim"]]


def test_builds_without_administrator_key_is_one_error_line(cli, fake) -> None:
    fake.admin = False

    assert_one_error_line(cli("environments", "builds"), "this needs an administrator key")


# -- deployments status ---------------------------------------------------------------------


@pytest.fixture
def deployed(cli, fake) -> None:
    fake.add_version("iris_model", ["model.joblib", "predictor.py"], "sklearn")
    assert cli("deployments", "create", "iris", "--model", "iris_model").exit_code == 0


@pytest.mark.parametrize(
    ("info", "row"),
    [
        (
            {
                "base": ML,
                "requirements": ["scikit-learn==1.9.1"],
                "phase": "READY",
                "key": "3f2a9c",
                "packages": ML_PINS,
                "python": "3.11.9",
                "reused": True,
                "message": "",
            },
            f"predictor {ML} READY 3f2a9c 3 reused an existing environment",
        ),
        (
            {
                "base": ML,
                "phase": "FAILED",
                "key": None,
                "message": "could not be resolved: no version of scikit-learn==0.1",
            },
            f"predictor {ML} FAILED - - could not be resolved: no version of scikit-learn==0.1",
        ),
        ({"phase": "EMBEDDED"}, "predictor server interpreter EMBEDDED - -"),
    ],
)
def test_status_shows_each_components_environment(cli, fake, deployed, info, row: str) -> None:
    fake.environments = {"predictor": info}

    result = cli("deployments", "status", "iris")

    assert result.exit_code == 0, result.output
    header = ["COMPONENT", "ENVIRONMENT", "PHASE", "KEY", "PACKAGES", "DETAIL"]
    assert header in [line.split() for line in result.stdout.splitlines()]
    assert rows_after(result.stdout, "COMPONENT") == [row.split()]


def test_status_without_environments_has_no_environment_table(cli, deployed) -> None:
    result = cli("deployments", "status", "iris")

    assert result.exit_code == 0, result.output
    headers = [line.split()[:2] for line in result.stdout.splitlines()]
    assert ["REPLICA", "COMPONENT"] in headers  # the replica table is there, not the other
    assert not any(line.startswith("COMPONENT") for line in result.stdout.splitlines())
    assert "ENVIRONMENT" not in result.stdout
