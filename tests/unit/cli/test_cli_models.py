"""``shipyard models push|list`` against the fake REST API."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


def test_push_uploads_a_version(cli, fake, model_dir: Path) -> None:
    result = cli(
        "models",
        "push",
        str(model_dir),
        "--name",
        "iris",
        "--framework",
        "sklearn",
        "--description",
        "Iris classifier",
        "--metric",
        "accuracy=0.97",
        "--metric",
        "f1=0.9",
    )
    assert result.exit_code == 0, result.output
    assert "pushed iris version 1 (2 files" in result.stdout
    upload = fake.uploads[-1]
    assert upload.metadata["framework"] == "sklearn"
    assert upload.metadata["metrics"] == {"accuracy": 0.97, "f1": 0.9}
    assert upload.metadata["description"] == "Iris classifier"
    assert upload.members() == ["model.joblib", "predictor.py"]


def test_bad_metric_is_a_usage_error(cli, model_dir: Path) -> None:
    result = cli("models", "push", str(model_dir), "--name", "iris", "--metric", "accuracy")
    assert result.exit_code == 2
    assert "NAME=NUMBER" in result.stderr


def test_list_models_and_versions(cli, fake) -> None:
    fake.add_version("iris", ["model.joblib"], "sklearn")
    fake.add_version("iris", ["model.joblib"], "sklearn")
    fake.add_version("wine", ["predictor.py"])

    result = cli("models", "list")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0][:3] == ["NAME", "LATEST", "VERSIONS"]
    assert rows[1][:3] == ["iris", "2", "2"]
    assert rows[2][:3] == ["wine", "1", "1"]

    result = cli("models", "list", "iris")
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.stdout.splitlines()[1:]] == [
        ["1", "sklearn"],
        ["2", "sklearn"],
    ]


def test_list_versions_of_unknown_model_is_one_error_line(cli) -> None:
    result = cli("models", "list", "ghost")
    assert result.exit_code == 1
    assert result.stderr == "error: model 'ghost' not found\n"
    assert result.stdout == ""
