"""Fixtures of the CLI unit tests: the SDK tests' fake REST API, injected through ``CliState``."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli._state import CliState
from shipyard.cli.main import app


def load_fake_api() -> ModuleType:
    """Load ``../sdk/fake_api.py`` by path, once (shared with the SDK tests)."""
    name = "shipyard_unit_fake_api"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "sdk" / "fake_api.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("SHIPYARD_HOST", "SHIPYARD_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))


@pytest.fixture
def fake():
    return load_fake_api().FakeShipyard()


@pytest.fixture
def cli(fake) -> Callable[..., Result]:
    """Run ``shipyard <args>`` against the fake; ``api_key=None`` leaves the key out."""
    runner = CliRunner()

    def invoke(*args: str, api_key: str | None = fake.api_key) -> Result:
        state = CliState(host=fake.host, api_key=api_key, transport=fake.transport)
        return runner.invoke(app, list(args), obj=state)

    return invoke


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "iris_model"
    root.mkdir()
    (root / "predictor.py").write_text("class Predictor: ...\n")
    (root / "model.joblib").write_bytes(b"\x00" * 2048)
    return root
