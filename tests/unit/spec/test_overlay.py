"""The one overlay rule for partial resource changes."""

from __future__ import annotations

import pytest

from shipyard.sdk._resources import PredictorResources as EditablePredictorResources
from shipyard.spec.overlay import ResourceChange
from shipyard.spec.resources import PredictorResources, Resources, TransformerResources

pytestmark = pytest.mark.unit

BASE = PredictorResources(
    num_instances=2, requests=Resources(0.5, 256, 0), limits=Resources(1, 512, 0)
)


def test_unset_values_keep_the_base() -> None:
    assert ResourceChange().apply(BASE) == BASE
    assert ResourceChange().empty
    changed = ResourceChange(limit_memory=2048).apply(BASE)
    assert changed == PredictorResources(
        num_instances=2, requests=Resources(0.5, 256, 0), limits=Resources(1, 2048, 0)
    )


def test_gpus_given_on_one_side_go_to_both() -> None:
    one = ResourceChange(request_gpus=1).apply(BASE)
    assert (one.requests.gpus, one.limits.gpus) == (1, 1)
    other = ResourceChange(limit_gpus=2).apply(BASE)
    assert (other.requests.gpus, other.limits.gpus) == (2, 2)


def test_reserved_sets_request_and_limit_alike() -> None:
    changed = ResourceChange.reserved(0.25, 128, instances=3).apply(BASE)
    assert changed.num_instances == 3
    assert changed.requests == changed.limits == Resources(0.25, 128, 0)


def test_the_result_keeps_the_base_type() -> None:
    assert type(ResourceChange(instances=1).apply(TransformerResources())) is TransformerResources
    editable = EditablePredictorResources()
    result = ResourceChange(request_memory=64).apply(editable)
    assert type(result) is EditablePredictorResources
    result.num_instances = 4  # still editable
