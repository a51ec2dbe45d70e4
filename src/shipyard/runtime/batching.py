"""Adaptive batching: concurrent requests to one replica become one model call.

A request that finds the model idle opens a batch that goes to the model on the event loop's next
turn: requests that arrived together (read in the same turn) share the call, and a lone request
waits for nothing. Requests arriving while the model is busy join an open batch, which goes to the
model as soon as the model is free again, or once it holds ``max_batch_size`` rows, or once
``max_latency_s`` passed since its first request, whichever comes first; the model is called once
on all its rows and the predictions are split back, in order. Only payloads of the same shape join
one batch (lists; numpy arrays with the same trailing shape; DataFrames with the same columns);
anything else (a dict of named inputs, a scalar) is called on its own. A model must return one
prediction per row to be batched; if it does not, every request of the batch gets that error. A
batch whose answer takes longer than ``timeout_s`` from its first request fails all its requests
with ``TimeoutExpired`` (one timer per batch, not per request). The state machine is the one
both hops share, :class:`shipyard.wire.coalescer.Coalescer`; this module adds the rows.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InferenceError, TimeoutExpired
from shipyard.runtime.metrics import ReplicaMetrics
from shipyard.wire.coalescer import Coalescer


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    max_batch_size: int = 32
    max_latency_s: float = 0.005
    timeout_s: float = 60.0


def _signature(payload: Any) -> tuple[Any, ...] | None:
    """What must match for two payloads to share a model call; None = not batchable."""
    if isinstance(payload, list):
        return ("list",)
    kind = type(payload).__module__.partition(".")[0]
    if kind == "numpy" and getattr(payload, "ndim", 0) >= 1:
        return ("ndarray", payload.shape[1:], payload.dtype)  # a dtype compares, no str needed
    if kind == "pandas" and hasattr(payload, "columns"):
        return ("dataframe", tuple(payload.columns))
    return None


def _concat(signature: tuple[Any, ...], payloads: list[Any]) -> Any:
    if signature[0] == "list":
        return [row for payload in payloads for row in payload]
    if signature[0] == "ndarray":
        import numpy as np

        return np.concatenate(payloads, axis=0)
    import pandas as pd

    return pd.concat(payloads, ignore_index=True)


def _split(result: Any, sizes: list[int]) -> list[Any]:
    total = sum(sizes)
    try:
        count = len(result)
    except TypeError:
        count = -1
    if count != total:
        raise InferenceError(
            f"batching: predict returned {count if count >= 0 else 'a non-sequence'} for "
            f"{total} instances; return one prediction per instance, or disable batching"
        )
    slicer = result.iloc if hasattr(result, "iloc") else result
    parts, start = [], 0
    for size in sizes:
        parts.append(slicer[start : start + size])
        start += size
    return parts


@dataclass
class _Call:
    """Payloads (by index) that go to the model together in :meth:`Batcher.submit_many`."""

    signature: tuple[Any, ...]
    indexes: list[int] = field(default_factory=list)
    rows: int = 0


def _calls(payloads: list[Any], max_rows: int) -> list[_Call]:
    """``payloads`` grouped into model calls: one signature and at most ``max_rows`` rows each."""
    calls: list[_Call] = []
    filling: dict[tuple[Any, ...], _Call] = {}
    for index, payload in enumerate(payloads):
        signature = _signature(payload)
        rows = len(payload) if signature is not None else 0
        if signature is None or rows == 0 or rows >= max_rows:
            calls.append(_Call(("alone",), [index], rows))
            continue
        call = filling.get(signature)
        if call is None or call.rows + rows > max_rows:
            call = filling[signature] = _Call(signature)
            calls.append(call)
        call.indexes.append(index)
        call.rows += rows
    return calls


class Batcher:
    """Combines concurrent calls of ``call`` into batches under ``policy``."""

    def __init__(
        self,
        call: Callable[[Any], Awaitable[Any]],
        policy: BatchPolicy,
        metrics: ReplicaMetrics | None = None,
    ) -> None:
        self._model_call = call
        self._policy = policy
        self._metrics = metrics
        self._coalescer: Coalescer[tuple[tuple[Any, ...], Any, float], Any] = Coalescer(
            self._predict,
            max_items=policy.max_batch_size,
            max_weight=policy.max_batch_size,
            max_wait_s=policy.max_latency_s,
            timeout_s=policy.timeout_s,
            expired=lambda: TimeoutExpired(
                f"the batch of this request took longer than {policy.timeout_s:g} s"
            ),
        )

    async def submit(self, payload: Any) -> Any:
        """The prediction for ``payload``, computed in a batch when it can be."""
        signature = _signature(payload)
        rows = len(payload) if signature is not None else 0
        if signature is None or rows == 0 or rows >= self._policy.max_batch_size:
            return await self._coalescer.counted(self._call(payload))
        item = (signature, payload, time.perf_counter())
        return await self._coalescer.submit(item, weight=rows, group=signature)

    async def _call(self, payload: Any, requests: int = 1) -> Any:
        """One model call, timed for the metrics."""
        started = time.perf_counter()
        try:
            return await self._model_call(payload)
        finally:
            if self._metrics is not None:
                self._metrics.model_call(requests, time.perf_counter() - started)

    async def _predict(self, batch: list[tuple[tuple[Any, ...], Any, float]]) -> list[Any]:
        """One model call for a batch of payloads of one signature; its rows split back."""
        if self._metrics is not None:
            now = time.perf_counter()
            for _, _, submitted in batch:
                self._metrics.waited(max(0.0, now - submitted))
        if len(batch) == 1:
            return [await self._call(batch[0][1])]
        payloads = [payload for _, payload, _ in batch]
        combined = await self._call(_concat(batch[0][0], payloads), len(batch))
        return _split(combined, [len(payload) for payload in payloads])

    async def submit_many(self, payloads: list[Any]) -> list[Any]:
        """Predictions for payloads that arrived together, in as few model calls as allowed.

        Payloads of one signature are concatenated up to ``max_batch_size`` rows per call (one
        larger than that is called alone), others are called one by one; calls run one after
        the other. Per payload: its prediction, or the exception its call raised.
        """
        results: list[Any] = [None] * len(payloads)
        for call in _calls(payloads, self._policy.max_batch_size):
            now = time.perf_counter()
            batch = [(call.signature, payloads[index], now) for index in call.indexes]
            try:
                outputs = await self._coalescer.counted(self._predict(batch))
            except Exception as exc:
                outputs = [exc] * len(call.indexes)
            for index, output in zip(call.indexes, outputs, strict=True):
                results[index] = output
        return results

    async def close(self) -> None:
        """Finish the open batch and wait for running ones (at shutdown)."""
        await self._coalescer.close()
