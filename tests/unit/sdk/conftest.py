"""Fixtures of the SDK unit tests: a fake REST API (``fake_api.py``) behind a MockTransport."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shipyard.sdk import Model, ModelRegistry, ModelServing, Project, login


def load_fake_api() -> ModuleType:
    """Load ``fake_api.py`` by path, once (the CLI tests load the same module)."""
    name = "shipyard_unit_fake_api"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fake_api.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def fake() -> object:
    return load_fake_api().FakeShipyard()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("SHIPYARD_HOST", "SHIPYARD_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))


@pytest.fixture
def project(fake):
    with login(fake.host, fake.api_key, transport=fake.transport) as project:
        yield project


@pytest.fixture
def mr(project: Project) -> ModelRegistry:
    return project.get_model_registry()


@pytest.fixture
def ms(project: Project) -> ModelServing:
    return project.get_model_serving()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "model_dir"
    (root / "sub").mkdir(parents=True)
    (root / "__pycache__").mkdir()
    (root / "predictor.py").write_text(
        "class Predictor:\n    def predict(self, x):\n        return x\n"
    )
    (root / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (root / "sub" / "transformer.py").write_text("class Transformer: ...\n")
    (root / "__pycache__" / "predictor.cpython-311.pyc").write_bytes(b"junk")
    return root


@pytest.fixture
def my_model(mr: ModelRegistry, model_dir: Path) -> Model:
    return mr.python.create_model("my_model", metrics={"accuracy": 0.9}).save(model_dir)
