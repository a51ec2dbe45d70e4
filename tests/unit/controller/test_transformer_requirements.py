"""Where a component's requirements come from: a transformer's own folder, or the model's."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.controller.environments import requirements_dir
from shipyard.spec.deployment import Component, DeploymentSpec

pytestmark = pytest.mark.unit


def spec(transformer: str | None) -> DeploymentSpec:
    body: dict = {"name": "d", "predictor": {"model_name": "m", "model_version": 1}}
    if transformer:
        body["transformer"] = {"script_file": transformer}
    return DeploymentSpec.model_validate(body)


def test_a_transformer_with_its_own_requirements_gets_its_folder(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "requirements.txt").write_text("six\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    s = spec("t/transformer.py")
    assert requirements_dir(s, Component.TRANSFORMER, tmp_path) == tmp_path / "t"
    assert requirements_dir(s, Component.PREDICTOR, tmp_path) == tmp_path


@pytest.mark.parametrize("script", ["transformer.py", "u/transformer.py", "../t/transformer.py"])
def test_otherwise_the_model_folder(tmp_path: Path, script: str) -> None:
    model = tmp_path / "model"
    (model / "u").mkdir(parents=True)  # no requirements.txt in u/
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "requirements.txt").write_text("six\n")  # outside the model: ignored
    assert requirements_dir(spec(script), Component.TRANSFORMER, model) == model
