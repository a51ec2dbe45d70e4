"""Merging the replicas' metrics into the control plane's exposition (api.replica_metrics)."""

from __future__ import annotations

import pytest

from shipyard.api.replica_metrics import merge

pytestmark = pytest.mark.unit

TEXT = """# HELP shipyard_replica_predict_seconds Time of one model call.
# TYPE shipyard_replica_predict_seconds histogram
shipyard_replica_predict_seconds_bucket{deployment="iris",le="+Inf"} 3
shipyard_replica_predict_seconds_count{deployment="iris"} 3
other_metric 1
"""


def test_families_appear_once_and_samples_carry_project_and_replica():
    text = merge([("p1", "predictor-0", TEXT), ("p1", "predictor-1", TEXT)]).decode()
    assert text.count("# TYPE shipyard_replica_predict_seconds histogram") == 1
    assert 'shipyard_replica_predict_seconds_count{project="p1",replica="predictor-1",' \
        'deployment="iris"} 3' in text  # fmt: skip
    assert text.count("shipyard_replica_predict_seconds_bucket{") == 2
    assert "other_metric" not in text
    assert merge([]) == b""
