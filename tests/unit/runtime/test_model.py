"""The sync/async adapter over user objects."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from shipyard.errors import NotReady
from shipyard.runtime.model import (
    AdaptedModel,
    InputKind,
    Loaded,
    SyncCall,
    run_in_daemon_thread,
)

pytestmark = pytest.mark.unit


class SyncModel:
    def predict(self, inputs):
        return (threading.current_thread() is threading.main_thread(), inputs)


class AsyncModel:
    async def predict(self, inputs):
        return (threading.current_thread() is threading.main_thread(), inputs)


class Pipeline:
    def preprocess(self, inputs):
        return [x + 1 for x in inputs]

    async def postprocess(self, outputs):
        return [x * 10 for x in outputs]


def adapted(obj, methods=("predict",)):
    return AdaptedModel(
        lambda: Loaded(obj, InputKind.PYTHON, "python", methods), source="test", platform="x"
    )


async def test_sync_predict_starts_in_a_thread_then_runs_inline_once_known_fast():
    sync_model, async_model = adapted(SyncModel()), adapted(AsyncModel())
    await sync_model.load()
    await async_model.load()
    assert await sync_model.predict([1]) == (False, [1])  # not timed yet: a worker thread
    assert await sync_model.predict([2]) == (True, [2])  # fast: on the loop, no thread hop
    assert await async_model.predict([1]) == (True, [1])
    assert sync_model.platform == "python"


async def test_a_slow_sync_predict_keeps_running_in_threads():
    class Slow:
        def predict(self, inputs):
            started = time.thread_time()
            while time.thread_time() - started < SyncCall.INLINE_BELOW_S * 3:
                pass  # busy: CPU time, not waiting
            return threading.current_thread() is threading.main_thread()

    model = adapted(Slow())
    await model.load()
    assert [await model.predict(None) for _ in range(3)] == [False, False, False]


async def test_a_predict_that_mostly_waits_keeps_its_threads_and_cpu_decides_otherwise():
    waits, spins = SyncCall(lambda _: time.sleep(0.03)), SyncCall(lambda _: None)
    for _ in range(3):
        await waits(None)
        await spins(None)
    assert waits.cpu_s is not None and waits.cpu_s < SyncCall.INLINE_BELOW_S
    assert not waits.inline  # little CPU, but long waits: the loop must not block on it
    assert spins.inline
    spins.wall_s = 0.015  # preempted now and then: wall time alone does not move it off
    assert spins.inline


async def test_a_predict_that_turns_cpu_heavy_leaves_the_loop_within_a_sampling_period():
    heavy = False

    def predict(_):
        started = time.thread_time()
        while heavy and time.thread_time() - started < SyncCall.INLINE_BELOW_S * 3:
            pass

    call = SyncCall(predict)
    for _ in range(3):
        await call(None)
    assert call.inline
    heavy = True
    for _ in range(SyncCall.CPU_EVERY * 3):  # CPU time is sampled, the average moves over
        await call(None)
    assert not call.inline


async def test_methods_are_chained_in_order():
    model = adapted(Pipeline(), ("preprocess", "postprocess"))
    await model.load()
    assert await model.predict([1, 2]) == [20, 30]


async def test_predict_before_load_is_not_ready():
    with pytest.raises(NotReady):
        await adapted(SyncModel()).predict([1])


async def test_a_missing_method_fails_the_load():
    with pytest.raises(TypeError, match="object has no method predict"):
        await adapted(object()).load()


async def test_daemon_thread_returns_results_and_wraps_system_exit():
    def leave():
        raise SystemExit(2)

    assert await run_in_daemon_thread(lambda: 42) == 42
    with pytest.raises(ValueError, match="boom"):
        await run_in_daemon_thread(lambda: int("boom"))
    with pytest.raises(RuntimeError, match="SystemExit"):
        await run_in_daemon_thread(leave)


async def test_daemon_thread_load_can_be_abandoned():
    release = threading.Event()
    task = asyncio.ensure_future(run_in_daemon_thread(release.wait))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
