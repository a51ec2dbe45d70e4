"""Model serving on the client: predictors and the ``DeploymentSpec`` they build (what the
server stores is checked against the real app in ``tests/integration/client``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipyard import Transformer
from shipyard.errors import InvalidSpec
from shipyard.resources import PredictorResources, TransformerResources
from shipyard.sdk import Model, ModelRegistry, ModelServing
from shipyard.sdk._components import resolve_script

pytestmark = pytest.mark.unit


def test_predictor_defaults(ms: ModelServing, my_model: Model) -> None:
    predictor = ms.create_predictor(my_model)
    assert predictor.name == "my-model"
    spec = predictor.to_spec()
    assert spec.predictor.resources == PredictorResources()
    assert spec.predictor.resources.requests.cores == 0.2
    assert spec.predictor.resources.limits.memory == 1024
    assert spec.serving_tool == "LOCAL"


def test_create_transformer_is_the_transformer_class(ms: ModelServing) -> None:
    made = ms.create_transformer("t.py", resources=TransformerResources(num_instances=0))
    assert isinstance(made, Transformer)
    assert made.to_spec().resources.num_instances == 0


def test_an_inference_logger_goes_into_the_spec(ms: ModelServing, my_model: Model) -> None:
    from shipyard import InferenceLogger

    with pytest.raises(InvalidSpec, match=r"use shipyard\.InferenceLogger"):
        ms.create_predictor(my_model, inference_logger={"enabled": True})
    logger = InferenceLogger(mode="PREDICTIONS", url="http://127.0.0.1:9/", sample_rate=0.5)
    spec = ms.create_predictor(my_model, inference_logger=logger).to_spec()
    assert spec.predictor.inference_logger == logger
    with pytest.raises(ValueError, match="needs a url"):
        InferenceLogger(mode="ALL")
    with pytest.raises(ValueError, match="relative path without"):
        InferenceLogger(file="../../etc/passwd")


def test_an_inference_batcher_goes_into_the_spec(ms: ModelServing, my_model: Model) -> None:
    from shipyard import InferenceBatcher

    with pytest.raises(InvalidSpec, match=r"use shipyard\.InferenceBatcher"):
        ms.create_predictor(my_model, inference_batcher={"enabled": True})  # type: ignore[arg-type]
    batcher = InferenceBatcher(enabled=True, max_batch_size=16, max_latency=2)
    predictor = ms.create_predictor(my_model, inference_batcher=batcher)
    spec = predictor.to_spec().predictor.batching
    assert spec is not None and (spec.batch_size, spec.latency_ms, spec.timeout_s) == (16, 2, 60)
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        InferenceBatcher(enabled=True, max_batch_size=1)


def test_unsaved_model_cannot_be_served(mr: ModelRegistry, ms: ModelServing) -> None:
    with pytest.raises(InvalidSpec, match="has not been saved"):
        ms.create_predictor(mr.python.create_model("m"))


def test_invalid_name_and_serving_tool(ms: ModelServing, my_model: Model) -> None:
    with pytest.raises(InvalidSpec, match="deployment name 'Bad_Name' is invalid"):
        ms.create_predictor(my_model, name="Bad_Name")
    with pytest.raises(InvalidSpec, match="unknown serving tool 'podman'"):
        ms.create_predictor(my_model, serving_tool="podman")


def test_invalid_field_is_invalid_spec_with_details(ms: ModelServing, my_model: Model) -> None:
    predictor = ms.create_predictor(my_model)
    predictor.model_version = 0
    with pytest.raises(InvalidSpec) as caught:
        predictor.to_spec()
    [error] = caught.value.details["errors"]
    assert (error["field"], error["value"]) == ("model_version", 0)


class TestResolveScript:
    files = ("predictor.py", "sub/transformer.py", "weights.bin")

    def test_model_relative_path_is_kept(self) -> None:
        assert resolve_script("sub/transformer.py", self.files) == "sub/transformer.py"

    def test_local_path_reduced_to_model_relative_part(self) -> None:
        assert resolve_script("model_dir/sub/transformer.py", self.files) == "sub/transformer.py"
        assert resolve_script("/abs/x/model_dir/predictor.py", self.files) == "predictor.py"

    def test_path_inside_saved_directory(self, model_dir: Path, monkeypatch) -> None:
        monkeypatch.chdir(model_dir.parent)
        script = os.path.join("model_dir", "sub", "transformer.py")
        assert resolve_script(script, [], model_dir) == "sub/transformer.py"

    def test_unknown_path_falls_back_to_basename(self) -> None:
        assert resolve_script("/elsewhere/serve.py", self.files) == "serve.py"

    def test_none_means_detect(self) -> None:
        assert resolve_script(None, self.files) is None
