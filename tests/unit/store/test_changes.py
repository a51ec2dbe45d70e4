"""The change summary of a revision: one ``path: old -> new [unit]`` line per changed field."""

from __future__ import annotations

import pytest

from shipyard.spec.deployment import DeploymentSpec, PredictorSpec, ServingTool, TransformerSpec
from shipyard.spec.resources import PredictorResources, Resources, TransformerResources
from shipyard.store.changes import spec_changes, summary

pytestmark = pytest.mark.unit


def _spec(**predictor: object) -> DeploymentSpec:
    fields: dict[str, object] = {"model_name": "iris", "model_version": 1, **predictor}
    return DeploymentSpec(name="iris", predictor=PredictorSpec.model_validate(fields))


def test_equal_specs_have_no_changes() -> None:
    assert spec_changes(_spec(), _spec()) == []


def test_the_examples_of_the_issue() -> None:
    old = _spec()
    new = _spec(
        model_version=2,
        environment="shipyard/python:1.0.0",
        resources=PredictorResources(
            num_instances=3,
            requests=Resources(cores=0.2, memory=32),
            limits=Resources(cores=2, memory=2048),
        ),
    )
    assert spec_changes(old, new) == [
        "predictor.model_version: 1 -> 2",
        "predictor.resources.num_instances: 1 -> 3",
        "predictor.resources.limits.memory: 1024 -> 2048 MiB",
        "predictor.environment: None -> shipyard/python:1.0.0",
    ]


def test_cores_and_gpus_read_like_people_write_them() -> None:
    old = _spec(resources=PredictorResources(requests=Resources(0.2, 32), limits=Resources(2, 64)))
    new = _spec(
        resources=PredictorResources(
            requests=Resources(0.25, 32, gpus=1), limits=Resources(1.5, 64, gpus=1)
        )
    )
    assert spec_changes(old, new) == [
        "predictor.resources.requests.cores: 0.2 -> 0.25 cores",
        "predictor.resources.requests.gpus: 0 -> 1",
        "predictor.resources.limits.cores: 2 -> 1.5 cores",
        "predictor.resources.limits.gpus: 0 -> 1",
    ]


def test_a_change_back_is_the_mirror_image() -> None:
    old, new = _spec(environment="shipyard/python:1.0.0"), _spec()
    assert spec_changes(old, new) == ["predictor.environment: shipyard/python:1.0.0 -> None"]


def test_top_level_fields_are_listed_too() -> None:
    old, new = _spec(), _spec().model_copy(update={"serving_tool": ServingTool.KSERVE})
    assert spec_changes(old, new) == ["serving_tool: LOCAL -> KSERVE"]


def test_an_added_section_lists_each_of_its_fields_with_units_on_the_present_side() -> None:
    transformer = TransformerSpec(
        script_file="transformer.py",
        resources=TransformerResources(
            num_instances=2, requests=Resources(0.5, 64), limits=Resources(1, 128)
        ),
    )
    old = _spec()
    new = old.model_copy(update={"transformer": transformer})
    added = spec_changes(old, new)
    assert added[:3] == [
        "transformer.script_file: None -> transformer.py",
        "transformer.resources.num_instances: None -> 2",
        "transformer.resources.requests.cores: None -> 0.5 cores",
    ]
    assert "transformer.resources.limits.memory: None -> 128 MiB" in added
    assert not any(line.startswith("transformer.environment") for line in added)  # None both
    removed = spec_changes(new, old)
    assert "transformer.resources.limits.memory: 128 MiB -> None" in removed
    assert len(removed) == len(added)


def test_summary_puts_the_reason_first() -> None:
    lines = ["predictor.resources.num_instances: 2 -> 1"]
    assert summary(lines) == "predictor.resources.num_instances: 2 -> 1"
    assert summary(lines, "rollback to revision 1") == (
        "rollback to revision 1; predictor.resources.num_instances: 2 -> 1"
    )
    assert summary([], "rollback to revision 1") == "rollback to revision 1; no field changed"
