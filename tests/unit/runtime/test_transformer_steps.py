"""A transformer replica's two steps, asked for by the gateway with ``x-shipyard-stage``."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.runtime.loaders.scripts import transformer_model

pytestmark = pytest.mark.unit

SCRIPT = """
class Transformer:
    def preprocess(self, inputs):
        if any(len(row) != 2 for row in inputs):
            raise ValueError("rows need 2 values")
        return [[x * 10 for x in row] for row in inputs]

    async def postprocess(self, outputs):
        if outputs == ["boom"]:
            raise KeyError("boom")
        return [f"class-{o}" for o in outputs]
"""
PRE = {"x-shipyard-stage": "preprocess"}
POST = {"x-shipyard-stage": "postprocess"}


@pytest.fixture
async def transformer(serve, tmp_path: Path):
    script = tmp_path / "transformer.py"
    script.write_text(SCRIPT)
    return await serve(transformer_model(script), component="transformer")


async def test_v1_preprocess_answers_the_predictors_request(transformer) -> None:
    r = await transformer.post("/v1/models/iris:predict", json={"instances": [[1, 2]]}, headers=PRE)
    assert (r.status_code, r.json()) == (200, {"instances": [[10, 20]]})


async def test_v1_postprocess_turns_the_predictors_answer_into_the_clients(transformer) -> None:
    r = await transformer.post(
        "/v1/models/iris:predict", json={"predictions": [1, 0]}, headers=POST
    )
    assert (r.status_code, r.json()) == (200, {"predictions": ["class-1", "class-0"]})
    r = await transformer.post("/v1/models/iris:predict", json={"nope": 1}, headers=POST)
    assert r.status_code == 400 and "postprocess needs the predictor's answer" in r.json()["error"]


async def test_v2_steps_keep_tensors_and_names(transformer) -> None:
    tensor = {"name": "x", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]}
    r = await transformer.post(
        "/v2/models/iris/infer", json={"id": "a", "inputs": [tensor]}, headers=PRE
    )
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "a"
    [sent] = body["inputs"]
    assert (sent["name"], sent["shape"], sent["data"]) == ("x", [1, 2], [10, 20])
    predicted = {
        "model_name": "iris",
        "id": "a",
        "outputs": [{"name": "predict", "shape": [1], "datatype": "INT64", "data": [1]}],
    }
    r = await transformer.post("/v2/models/iris/infer", json=predicted, headers=POST)
    assert r.status_code == 200
    [out] = r.json()["outputs"]
    assert (out["datatype"], out["data"]) == ("BYTES", ["class-1"])


async def test_a_preprocess_error_is_the_inputs_fault_a_postprocess_error_is_not(
    transformer,
) -> None:
    r = await transformer.post("/v1/models/iris:predict", json={"instances": [[1]]}, headers=PRE)
    assert r.status_code == 400
    assert r.json()["error"] == "preprocess rejected the input: ValueError: rows need 2 values"
    r = await transformer.post(
        "/v1/models/iris:predict", json={"predictions": ["boom"]}, headers=POST
    )
    assert r.status_code == 500 and r.json()["error"] == "postprocess: KeyError: 'boom'"


async def test_without_a_stage_a_transformer_chains_both_steps(transformer) -> None:
    r = await transformer.post("/v1/models/iris:predict", json={"instances": [[1, 2]]})
    assert r.json() == {"predictions": ["class-[10, 20]"]}


async def test_a_predictor_has_no_steps(serve) -> None:
    from .conftest import FakeModel

    client = await serve(FakeModel(lambda rows: rows))
    r = await client.post("/v1/models/iris:predict", json={"instances": [[1]]}, headers=PRE)
    assert r.status_code == 400 and "not a transformer" in r.json()["error"]
