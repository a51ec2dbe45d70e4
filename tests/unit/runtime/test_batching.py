"""Adaptive batching in the runtime: combine, split back in order, keep errors per batch."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InferenceError
from shipyard.runtime.batching import Batcher, BatchPolicy

pytestmark = pytest.mark.unit


class Model:
    def __init__(self, fn=None) -> None:
        self.calls: list[object] = []
        self.fn = fn or (lambda rows: [sum(r) if isinstance(r, list) else r for r in rows])

    async def __call__(self, payload):
        self.calls.append(payload)
        await asyncio.sleep(0)
        return self.fn(payload)


async def test_concurrent_requests_make_one_call_and_get_their_own_answers() -> None:
    model = Model()
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=0.05))
    payloads = [[[i, i]] for i in range(5)] + [[[10, 1], [20, 2]]]
    answers = await asyncio.gather(*(batcher.submit(p) for p in payloads))
    assert answers == [[0], [2], [4], [6], [8], [11, 22]]
    assert len(model.calls) == 1 and len(model.calls[0]) == 7


async def test_a_full_batch_goes_at_once_without_waiting_for_the_latency() -> None:
    model = Model()
    batcher = Batcher(model, BatchPolicy(max_batch_size=4, max_latency_s=10.0))
    answers = await asyncio.wait_for(
        asyncio.gather(*(batcher.submit([[i]]) for i in range(8))), timeout=2.0
    )
    assert answers == [[i] for i in range(8)]
    assert [len(c) for c in model.calls] == [4, 4]


async def test_a_lone_request_waits_at_most_the_latency() -> None:
    model = Model()
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=0.01))
    assert await asyncio.wait_for(batcher.submit([[1, 2]]), timeout=1.0) == [3]
    assert model.calls == [[[1, 2]]]


async def test_arrays_and_frames_batch_with_their_own_kind_only() -> None:
    model = Model(fn=lambda x: x.sum(axis=1) if isinstance(x, np.ndarray) else x["a"] * 2)
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=0.02))
    first, second, frame, wide = await asyncio.gather(
        batcher.submit(np.array([[1.0, 2.0]])),
        batcher.submit(np.array([[3.0, 4.0], [5.0, 6.0]])),
        batcher.submit(pd.DataFrame({"a": [1, 2]})),
        batcher.submit(np.array([[1.0, 1.0, 1.0]])),  # another shape: its own call
    )
    assert first.tolist() == [3.0] and second.tolist() == [7.0, 11.0]
    assert frame.tolist() == [2, 4] and wide.tolist() == [3.0]
    assert len(model.calls) == 3


async def test_a_model_that_does_not_answer_per_row_fails_its_batch_clearly() -> None:
    batcher = Batcher(Model(fn=lambda rows: ["one"]), BatchPolicy(max_latency_s=0.02))
    results = await asyncio.gather(
        batcher.submit([[1]]), batcher.submit([[2]]), return_exceptions=True
    )
    assert all(isinstance(r, InferenceError) for r in results)
    assert "returned 1 for 2 instances" in str(results[0])


async def test_a_model_error_reaches_every_request_of_the_batch_and_the_next_batch_works() -> None:
    def fail_on_seven(rows):
        if [7] in rows:
            raise RuntimeError("bad row")
        return [r[0] for r in rows]

    batcher = Batcher(Model(fn=fail_on_seven), BatchPolicy(max_latency_s=0.02))
    results = await asyncio.gather(
        batcher.submit([[1]]), batcher.submit([[7]]), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await batcher.submit([[3]]) == [3]


async def test_payloads_that_cannot_be_batched_are_called_alone() -> None:
    model = Model(fn=lambda payload: payload)
    batcher = Batcher(model, BatchPolicy(max_latency_s=10.0))
    assert await asyncio.wait_for(batcher.submit({"a": [1]}), timeout=1.0) == {"a": [1]}
