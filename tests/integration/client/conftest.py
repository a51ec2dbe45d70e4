"""Fixtures of the client tests: the real API app in process (``tests.live_api.LiveApi``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.sdk import Project, login
from tests.live_api import LiveApi


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveApi]:
    for var in ("SHIPYARD_HOST", "SHIPYARD_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "client-home"))
    with LiveApi(tmp_path / "home") as live:
        yield live


@pytest.fixture
def project(api: LiveApi) -> Iterator[Project]:
    with login(api.host, api.api_key) as project:
        yield project


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "model_dir"
    root.mkdir()
    (root / "predictor.py").write_text(
        "class Predictor:\n    def predict(self, inputs):\n        return inputs\n"
    )
    (root / "transformer.py").write_text(
        "class Transformer:\n"
        "    def preprocess(self, inputs):\n        return inputs\n"
        "    def postprocess(self, outputs):\n        return outputs\n"
    )
    return root
