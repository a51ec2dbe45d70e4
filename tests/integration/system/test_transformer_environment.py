"""A transformer with its own ``requirements.txt`` (beside its script, in its own folder) runs
in its own environment, side by side with the predictor's: two versions of one library answer
in one request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import own_server, upload, wait_state

pytestmark = pytest.mark.integration

PREDICTOR = """
import six

class Predictor:
    def predict(self, inputs):
        return [f"predictor six {six.__version__}" for _ in inputs]
"""
TRANSFORMER = """
import six

class Transformer:
    def preprocess(self, inputs):
        return inputs
    def postprocess(self, outputs):
        return [f"{o}, transformer six {six.__version__}" for o in outputs]
"""


def test_transformer_and_predictor_with_different_versions_answer_side_by_side(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "model"
    (folder / "transformer").mkdir(parents=True)
    (folder / "predictor.py").write_text(PREDICTOR)
    (folder / "requirements.txt").write_text("six==1.16.0\n")
    (folder / "transformer" / "transformer.py").write_text(TRANSFORMER)
    (folder / "transformer" / "requirements.txt").write_text("six==1.15.0\n")
    cache = Path.home() / ".cache" / "shipyard-tests" / "uv"
    with own_server(tmp_path, SHIPYARD_UV_CACHE_DIR=str(cache)) as node, node.client() as api:
        model = upload(api, "two-sixes", folder, framework="python")
        spec = {
            "name": "two-sixes",
            "predictor": {"model_name": "two-sixes", "model_version": model["version"],
                          "script_file": "predictor.py"},
            "transformer": {"script_file": "transformer/transformer.py"},
        }  # fmt: skip
        assert api.post("/deployments", json={"spec": spec}).status_code == 201
        status = wait_state(api, "two-sixes", "RUNNING", timeout=300)
        answer = httpx.post(
            f"{node.gateway}/v1/models/two-sixes:predict",
            json={"instances": [[1]]},
            headers={"Authorization": f"ApiKey {node.key}"},
            timeout=60,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": ["predictor six 1.16.0, transformer six 1.15.0"]}
    envs = status["environments"]
    assert "six==1.16.0" in envs["predictor"]["packages"]
    assert "six==1.15.0" in envs["transformer"]["packages"]
    assert envs["predictor"]["key"] != envs["transformer"]["key"]
