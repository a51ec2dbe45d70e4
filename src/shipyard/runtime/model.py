"""The one internal model contract of the runtime, and the adapter that fits user objects to it.

Loaders (``shipyard.runtime.loaders``) produce a :class:`ServedModel`; the data plane awaits it.
User code may be sync or async: :class:`AdaptedModel` decides once, at load, how to call each
method (:class:`SyncCall` for sync methods, a plain ``await`` for coroutine functions), so the
request path never re-inspects it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from shipyard.errors import NotReady

T = TypeVar("T")
Call = Callable[[Any], Awaitable[Any]]


class InputKind(enum.Enum):
    """What a model's ``predict`` receives."""

    PYTHON = "python"
    """Plain JSON values (nested lists, dicts): predictor and transformer scripts."""
    DATAFRAME = "dataframe"
    """A ``pandas.DataFrame``: Fiddler ``package.py`` models."""
    NDARRAY = "ndarray"
    """A ``numpy.ndarray``: the built-in sklearn, xgboost and lightgbm loaders."""


class ServedModel(Protocol):
    """What the data plane serves. ``platform`` and ``input_kind`` are final after ``load``."""

    @property
    def source(self) -> str:
        """What is served, for logs and metadata (e.g. ``/m/predictor.py``)."""
        ...

    @property
    def platform(self) -> str:
        """``python``, ``python-package``, ``sklearn``, ``xgboost`` or ``lightgbm``."""
        ...

    @property
    def input_kind(self) -> InputKind:
        """What :meth:`predict` expects."""
        ...

    @property
    def timings(self) -> dict[str, float]:
        """Seconds the load spent importing and building the model (``imports``,
        ``model_load``; empty when not measured), reported to the controller when ready."""
        ...

    async def load(self) -> None:
        """Load the model; raises whatever the user's code or the framework raised."""
        ...

    async def predict(self, payload: Any) -> Any:
        """Predict; raises whatever the user's code or the framework raised."""
        ...

    def has_stage(self, name: str) -> bool:
        """Whether the model has the step ``name`` (``preprocess``/``postprocess``)."""
        ...

    async def stage(self, name: str, payload: Any) -> Any:
        """Run one step of a transformer; raises whatever the user's code raised."""
        ...


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a loader's factory returns: the object and how to call it."""

    obj: object
    input_kind: InputKind
    platform: str
    methods: tuple[str, ...] = ("predict",)
    """Methods applied in order to the payload (a transformer has two)."""
    timings: tuple[tuple[str, float], ...] = ()
    """Seconds spent per load phase (``imports``, ``model_load``), when the loader measured."""


class SyncCall:
    """Awaits a blocking method: inline while its calls are short, in a thread otherwise.

    A thread hop costs more CPU than a small model's predict (~0.1 ms for scikit-learn on one
    row), so a method whose recent calls averaged under :attr:`INLINE_BELOW_S` of CPU time (and
    under :attr:`INLINE_WALL_BELOW_S` of wall time, so a method that waits on I/O keeps its
    threads) runs on the event loop; a slower one, or one never timed yet, runs in a worker
    thread so the replica keeps answering health checks and accepting requests meanwhile. CPU
    time is what decides, because wall time also counts the moments another process had the
    core. The averages are exponentially weighted over every call, wherever it ran.
    """

    INLINE_BELOW_S = 0.002
    INLINE_WALL_BELOW_S = 0.02
    _WEIGHT = 0.2
    CPU_EVERY = 8

    def __init__(self, method: Callable[[Any], Any]) -> None:
        self._method = method
        self._calls = 0
        self.cpu_s: float | None = None
        self.wall_s: float | None = None

    @property
    def inline(self) -> bool:
        """Whether the next call runs on the event loop."""
        cpu, wall = self.cpu_s, self.wall_s
        if cpu is None or wall is None:
            return False
        return cpu < self.INLINE_BELOW_S and wall < self.INLINE_WALL_BELOW_S

    async def __call__(self, payload: Any) -> Any:
        if self.inline:
            return self._timed(payload)
        return await asyncio.to_thread(self._timed, payload)

    def _timed(self, payload: Any) -> Any:
        # CPU time is a system call (no vDSO): sampled on one call in CPU_EVERY once known.
        self._calls += 1
        sample = self.cpu_s is None or self._calls % self.CPU_EVERY == 0
        cpu = time.thread_time() if sample else 0.0
        wall = time.perf_counter()
        try:
            return self._method(payload)
        finally:
            self.wall_s = _average(self.wall_s, time.perf_counter() - wall, self._WEIGHT)
            if sample:
                self.cpu_s = _average(self.cpu_s, time.thread_time() - cpu, self._WEIGHT)


def _average(average: float | None, sample: float, weight: float) -> float:
    return sample if average is None else average + weight * (sample - average)


def _bind(obj: object, method_name: str, source: str) -> Call:
    """An awaitable callable for ``obj.<method_name>``: as is if async, else a :class:`SyncCall`."""
    method = getattr(obj, method_name, None)
    if not callable(method):
        raise TypeError(f"{source}: {type(obj).__name__} has no method {method_name}()")
    if inspect.iscoroutinefunction(method):
        return method  # type: ignore[no-any-return]
    return SyncCall(method)


def _chain(steps: list[Call]) -> Call:
    async def chained(payload: Any) -> Any:
        for step in steps:
            payload = await step(payload)
        return payload

    return chained


async def run_in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a daemon thread, so a slow load never blocks the process from exiting.

    Args:
        fn: The blocking function.

    Returns:
        What ``fn`` returned; a ``BaseException`` that is not an ``Exception`` (``SystemExit``
        from user code) is re-raised as ``RuntimeError`` so it cannot stop the event loop.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def target() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn()
        except Exception as exc:
            error = exc
        except BaseException as exc:
            error = RuntimeError(f"model loading raised {exc!r}")
        with contextlib.suppress(RuntimeError):  # the event loop closed meanwhile
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=target, name="shipyard-model-load", daemon=True).start()
    return await future


class AdaptedModel:
    """A :class:`ServedModel` over a user or framework object built by ``factory``."""

    def __init__(self, factory: Callable[[], Loaded], *, source: str, platform: str) -> None:
        """Prepare (not load) the model.

        Args:
            factory: Blocking function that imports/builds the object; run in a thread by load.
            source: What is served, for logs and metadata.
            platform: Platform name until the factory tells the final one.
        """
        self._factory = factory
        self._source = source
        self._platform = platform
        self._input_kind = InputKind.PYTHON
        self._call: Call | None = None
        self._stages: dict[str, Call] = {}
        self._timings: dict[str, float] = {}

    @property
    def source(self) -> str:
        return self._source

    @property
    def platform(self) -> str:
        return self._platform

    @property
    def input_kind(self) -> InputKind:
        return self._input_kind

    @property
    def timings(self) -> dict[str, float]:
        return dict(self._timings)

    async def load(self) -> None:
        """Build the object in a daemon thread and bind its methods once."""
        loaded = await run_in_daemon_thread(self._factory)
        self._timings = dict(loaded.timings)
        steps = [_bind(loaded.obj, name, self._source) for name in loaded.methods]
        self._platform = loaded.platform
        self._input_kind = loaded.input_kind
        self._stages = dict(zip(loaded.methods, steps, strict=True))
        self._call = steps[0] if len(steps) == 1 else _chain(steps)

    async def predict(self, payload: Any) -> Any:
        """Call the bound method(s) on ``payload``."""
        call = self._call
        if call is None:
            raise NotReady(f"{self._source} is not loaded yet")
        return await call(payload)

    def has_stage(self, name: str) -> bool:
        """Whether the loaded object has the step ``name`` (a transformer's two steps)."""
        return name in self._stages

    async def stage(self, name: str, payload: Any) -> Any:
        """Call one step (``preprocess`` or ``postprocess``) on ``payload``."""
        if self._call is None:
            raise NotReady(f"{self._source} is not loaded yet")
        return await self._stages[name](payload)
