"""Adaptive batching in the runtime: combine, split back in order, keep errors per batch."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InferenceError, TimeoutExpired
from shipyard.runtime.batching import Batcher, BatchPolicy

pytestmark = pytest.mark.unit


class Model:
    """Records calls; the first call waits for ``release`` (a busy model), the rest do not."""

    def __init__(self, fn=None) -> None:
        self.calls: list[object] = []
        self.fn = fn or (lambda rows: [sum(r) if isinstance(r, list) else r for r in rows])
        self.release = asyncio.Event()

    async def __call__(self, payload):
        self.calls.append(payload)
        if len(self.calls) == 1:
            await self.release.wait()
        return self.fn(payload)


async def busy_then(batcher: Batcher, model: Model, payloads: list) -> list:
    """Occupy the model with a first request, send ``payloads`` meanwhile, then free it."""
    first = asyncio.ensure_future(batcher.submit([[-1, -1]]))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(batcher.submit(p)) for p in payloads]
    await asyncio.sleep(0.01)
    model.release.set()
    assert await first == [-2]
    return await asyncio.gather(*rest, return_exceptions=True)


async def test_requests_arriving_while_the_model_is_busy_share_one_call() -> None:
    model = Model()
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=5.0))
    payloads = [[[i, i]] for i in range(5)] + [[[10, 1], [20, 2]]]
    answers = await busy_then(batcher, model, payloads)
    assert answers == [[0], [2], [4], [6], [8], [11, 22]]
    assert len(model.calls) == 2 and len(model.calls[1]) == 7  # sent as soon as it was free


async def test_a_request_to_an_idle_model_is_not_delayed() -> None:
    model = Model()
    model.release.set()
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=10.0))
    assert await asyncio.wait_for(batcher.submit([[1, 2]]), timeout=1.0) == [3]


async def test_requests_arriving_together_at_an_idle_model_share_one_call() -> None:
    model = Model()
    model.release.set()
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=10.0))
    together = asyncio.gather(*(batcher.submit([[i, 1]]) for i in range(4)))
    assert await asyncio.wait_for(together, timeout=1.0) == [[1], [2], [3], [4]]
    assert model.calls == [[[0, 1], [1, 1], [2, 1], [3, 1]]]


async def test_a_batch_slower_than_the_timeout_fails_its_requests() -> None:
    model = Model()  # never released: the first call hangs
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=0.001, timeout_s=0.05))
    requests = [batcher.submit([[1, 1]]), batcher.submit([[2, 2]])]
    answers = await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), 2.0)
    assert all(isinstance(a, TimeoutExpired) for a in answers)
    assert "longer than 0.05 s" in str(answers[0])
    model.release.set()
    await batcher.close()


async def test_a_full_batch_goes_at_once_without_waiting_for_the_model_or_the_latency() -> None:
    model = Model()
    batcher = Batcher(model, BatchPolicy(max_batch_size=4, max_latency_s=10.0))
    first = asyncio.ensure_future(batcher.submit([[-1]]))
    await asyncio.sleep(0.01)
    answers = await asyncio.wait_for(
        asyncio.gather(*(batcher.submit([[i]]) for i in range(8))), timeout=2.0
    )  # the first call still holds the model: full batches did not wait for it
    assert answers == [[i] for i in range(8)]
    assert [len(c) for c in model.calls] == [1, 4, 4]
    model.release.set()
    assert await first == [-1]


async def test_while_the_model_stays_busy_a_batch_waits_at_most_the_latency() -> None:
    model = Model()
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=0.02))
    first = asyncio.ensure_future(batcher.submit([[5]]))
    await asyncio.sleep(0.01)
    assert await asyncio.wait_for(batcher.submit([[1, 2]]), timeout=1.0) == [3]
    model.release.set()
    assert await first == [5]


async def test_arrays_and_frames_batch_with_their_own_kind_only() -> None:
    def fn(x):
        if isinstance(x, list):
            return [sum(r) for r in x]
        return x.sum(axis=1) if isinstance(x, np.ndarray) else x["a"] * 2

    model = Model(fn=fn)
    batcher = Batcher(model, BatchPolicy(max_batch_size=32, max_latency_s=0.2))
    first, second, frame, wide = await busy_then(
        batcher,
        model,
        [
            np.array([[1.0, 2.0]]),
            np.array([[3.0, 4.0], [5.0, 6.0]]),
            pd.DataFrame({"a": [1, 2]}),
            np.array([[1.0, 1.0, 1.0]]),  # another row shape: its own call
        ],
    )
    assert first.tolist() == [3.0] and second.tolist() == [7.0, 11.0]
    assert frame.tolist() == [2, 4] and wide.tolist() == [3.0]
    assert len(model.calls) == 4  # the busy one, the two arrays together, the frame, the wide


async def test_a_model_that_does_not_answer_per_row_fails_its_batch_clearly() -> None:
    model = Model(fn=lambda rows: ["one"])
    batcher = Batcher(model, BatchPolicy(max_latency_s=0.2))
    results = await busy_then_any(batcher, model, [[[1]], [[2]]])
    assert all(isinstance(r, InferenceError) for r in results)
    assert "returned 1 for 2 instances" in str(results[0])


async def test_a_model_error_reaches_every_request_of_the_batch_and_the_next_batch_works() -> None:
    def fail_on_seven(rows):
        if [7] in rows:
            raise RuntimeError("bad row")
        return [r[0] for r in rows]

    model = Model(fn=fail_on_seven)
    batcher = Batcher(model, BatchPolicy(max_latency_s=0.2))
    results = await busy_then_any(batcher, model, [[[1]], [[7]]])
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await batcher.submit([[3]]) == [3]


async def busy_then_any(batcher: Batcher, model: Model, payloads: list) -> list:
    """Like ``busy_then`` for models whose first answer may be an error."""
    first = asyncio.ensure_future(batcher.submit([[0]]))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(batcher.submit(p)) for p in payloads]
    await asyncio.sleep(0.01)
    model.release.set()
    await asyncio.gather(first, return_exceptions=True)
    return await asyncio.gather(*rest, return_exceptions=True)


async def test_payloads_that_cannot_be_batched_are_called_alone() -> None:
    model = Model(fn=lambda payload: payload)
    model.release.set()
    batcher = Batcher(model, BatchPolicy(max_latency_s=10.0))
    assert await asyncio.wait_for(batcher.submit({"a": [1]}), timeout=1.0) == {"a": [1]}
