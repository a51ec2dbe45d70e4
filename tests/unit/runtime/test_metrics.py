"""The replica's Prometheus metrics (shipyard.runtime.metrics) and their GET /metrics."""

from __future__ import annotations

import asyncio
import re

import pytest

from shipyard.runtime.batching import Batcher, BatchPolicy
from shipyard.runtime.metrics import ReplicaMetrics

from .conftest import FakeModel

pytestmark = pytest.mark.unit


def sample(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + r"\{[^}]*" + re.escape(labels) + r"[^}]*\} (\S+)"
    match = re.search(pattern, text)
    assert match, f"{name} {labels} not in {text}"
    return float(match.group(1))


def test_histograms_render_cumulative_buckets_with_escaped_labels():
    metrics = ReplicaMetrics({"deployment": 'ir"is', "component": "predictor"})
    metrics.model_call(3, 0.002)
    metrics.model_call(1, 0.2)
    text = metrics.render().decode()
    assert "# TYPE shipyard_replica_predict_seconds histogram" in text
    assert 'deployment="ir\\"is"' in text
    assert sample(text, "shipyard_replica_predict_seconds_bucket", 'le="0.0025"') == 1
    assert sample(text, "shipyard_replica_predict_seconds_bucket", 'le="+Inf"') == 2
    assert sample(text, "shipyard_replica_predict_seconds_sum") == pytest.approx(0.202)
    assert sample(text, "shipyard_replica_batch_size_bucket", 'le="2.0"') == 1
    assert sample(text, "shipyard_replica_batch_size_bucket", 'le="4.0"') == 2
    assert sample(text, "shipyard_replica_queue_wait_seconds_count") == 0


async def test_a_batch_counts_its_size_and_each_requests_wait():
    metrics = ReplicaMetrics({"deployment": "iris"})

    async def model(rows):
        return [sum(row) for row in rows]

    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=10.0), metrics)
    together = asyncio.gather(*(batcher.submit([[i, 1]]) for i in range(4)))
    assert await asyncio.wait_for(together, timeout=5.0) == [[1], [2], [3], [4]]
    assert metrics.batch_size.count == 1 and metrics.batch_size.sum == 4
    assert metrics.queue_wait.count == 4 and metrics.predict.count == 1


async def test_the_replica_serves_its_metrics(serve):
    client = await serve(FakeModel(lambda rows: rows))
    body = {"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [1]}]}
    for _ in range(3):
        assert (await client.post("/v2/models/iris/infer", json=body)).status_code == 200
    answer = await client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert sample(text, "shipyard_replica_predict_seconds_count", 'deployment="iris"') == 3
    assert 'component="predictor"' in text and 'model_version="3"' in text
    assert sample(text, "shipyard_replica_batch_size_bucket", 'le="1.0"') == 3
