"""``shipyard models push|list|delete`` against the real API app."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.sdk import Project

pytestmark = pytest.mark.integration


@pytest.fixture
def iris_dir(tmp_path: Path) -> Path:
    root = tmp_path / "iris_model"
    root.mkdir()
    (root / "predictor.py").write_text("class Predictor: ...\n")
    (root / "model.joblib").write_bytes(b"\x00" * 2048)
    return root


def test_push_uploads_a_version(cli, project: Project, iris_dir: Path) -> None:
    result = cli(
        "models", "push", str(iris_dir), "--name", "iris", "--framework", "sklearn",
        "--description", "Iris classifier", "--metric", "accuracy=0.97", "--metric", "f1=0.9",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pushed iris version 1 (2 files" in result.stdout
    stored = project.get_model_registry().get_model("iris", 1)
    assert stored.framework == "sklearn"
    assert stored.metrics == {"accuracy": 0.97, "f1": 0.9}
    assert stored.description == "Iris classifier"
    assert sorted(stored.files) == ["model.joblib", "predictor.py"]


def test_bad_metric_is_a_usage_error(cli, iris_dir: Path) -> None:
    result = cli("models", "push", str(iris_dir), "--name", "iris", "--metric", "accuracy")
    assert result.exit_code == 2
    assert "NAME=NUMBER" in result.stderr


def test_list_models_and_versions(cli, iris_dir: Path) -> None:
    for name, framework in (("iris", "sklearn"), ("iris", "sklearn"), ("wine", "python")):
        pushed = cli("models", "push", str(iris_dir), "--name", name, "--framework", framework)
        assert pushed.exit_code == 0, pushed.output
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


def test_delete_a_version_then_the_model(cli, iris_dir: Path) -> None:
    for _ in range(2):
        assert cli("models", "push", str(iris_dir), "--name", "iris").exit_code == 0
    result = cli("models", "delete", "iris", "--version", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "deleted iris version 1\n"
    result = cli("models", "delete", "iris", "--yes")
    assert result.stdout == "deleted model iris (versions 2)\n"
    assert cli("models", "list", "iris").stderr == "error: model 'iris' not found\n"
