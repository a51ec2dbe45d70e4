"""``shipyard environments list|show|add|builds`` against the real API app (``tests.live_api``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ML = "shipyard/machine-learning:1.0.0"
ML_ALIAS = "md-base/python/machine-learning:1.1.0"
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
    rows = rows_after(result.stdout, "ENVIRONMENT")
    assert [row[0] for row in rows] == ["shipyard/deep-learning:1.0.0", ML, "shipyard/python:1.0.0"]
    assert rows[1][:4] == [ML, ML_ALIAS, "8", "Machine"]
    assert rows[2][:4] == [
        "shipyard/python:1.0.0",
        "md-base/python/python-311:1.1.0,",
        "md-base/python/python-39:1.1.0,",
        "md-base/python/python-38:1.1.0",
    ]
    assert rows[2][4] == "0"


def test_show_by_alias_prints_each_pin(cli) -> None:
    result = cli("environments", "show", ML_ALIAS)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == [ML, "Machine", "learning:"]
    assert lines[1] == "python: the server interpreter · image: python:3.11-slim"
    assert lines[2] == f"aliases: {ML_ALIAS}"
    assert "  scikit-learn==1.9.1" in lines[3:] and len(lines[3:]) == 8


def test_show_unknown_ref_is_one_error_line(cli) -> None:
    result = cli("environments", "show", "team/nlp")

    assert_one_error_line(result, "ref: unknown base environment 'team/nlp'; use one of ")
    assert f"shipyard/deep-learning:1.0.0, {ML}, shipyard/python:1.0.0" in result.stderr


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_add_posts_the_file(cli, project, tmp_path: Path, suffix: str) -> None:
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
    stored = project.get_environment_api().get_environment("md-base/python/nlp:1.0.0")
    assert (stored.ref, stored.description, stored.python) == ("team/nlp:1.0.0", "NLP", "3.12")
    assert stored.packages == ["spacy==3.8.0", "numpy==2.4.6"] and not stored.builtin


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
    cli, project, tmp_path: Path, name: str, text: str, error: str
) -> None:
    file = tmp_path / name
    file.write_text(text)

    result = cli("environments", "add", str(file))

    assert_one_error_line(result, f"{file}: ")
    assert error in result.stderr
    assert len(project.get_environment_api().get_environments()) == 3


def test_add_missing_file_is_one_error_line_naming_it(cli, tmp_path: Path) -> None:
    file = tmp_path / "missing.toml"

    assert_one_error_line(cli("environments", "add", str(file)), f"{file}: cannot read")


def test_add_invalid_value_is_one_error_line(cli, project, tmp_path: Path) -> None:
    file = tmp_path / "nlp.toml"
    file.write_text(NLP_TOML.replace('"team/nlp"', '"Team NLP"'))

    result = cli("environments", "add", str(file))

    assert_one_error_line(result, "invalid base environment: name: ")
    assert len(project.get_environment_api().get_environments()) == 3


def test_add_existing_version_is_one_error_line(cli, tmp_path: Path) -> None:
    file = tmp_path / "python.json"
    file.write_text(json.dumps({"name": "shipyard/python", "version": "1.0.0", "packages": []}))

    result = cli("environments", "add", str(file))

    assert_one_error_line(result, "base environment shipyard/python:1.0.0 already exists")


def test_builds_table(cli, project, tmp_path: Path) -> None:
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "predictor.py").write_text("class Predictor:\n    def predict(self, x): ...\n")
    model = project.get_model_registry().python.create_model("m").save(str(model_dir))
    project.get_model_serving().create_predictor(
        model, script_file="predictor.py", environment="shipyard/python"
    ).deploy(await_update=120)

    result = cli("environments", "builds")

    assert result.exit_code == 0, result.output
    (listed,) = json.loads(cli("environments", "builds", "--json").stdout)
    assert listed["state"] == "READY" and listed["deployments"] == ["m"]
    row = rows_after(result.stdout, "BUILD")[0]
    assert row[:3] == [listed["id"], "READY", "shipyard/python:1.0.0"]
    assert "MiB" in result.stdout


def test_builds_of_another_project_are_not_listed(api, project) -> None:
    from typer.testing import CliRunner

    from shipyard.cli._state import CliState
    from shipyard.cli.main import app

    key = project.create_project("team-a").api_key
    result = CliRunner().invoke(
        app, ["environments", "builds"], obj=CliState(host=api.host, api_key=key)
    )
    assert result.exit_code == 0, result.output
    assert "BUILD" in result.stdout and "READY" not in result.stdout
