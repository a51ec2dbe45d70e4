"""Fixtures for the runtime's unit tests: tiny model directories and in-process apps."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.runtime.app import RuntimeApp, create_app
from shipyard.runtime.config import RuntimeConfig
from shipyard.runtime.model import InputKind
from tests.handler_transport import HandlerTransport

IRIS_X = [
    [5.1, 3.5, 1.4, 0.2],
    [4.9, 3.0, 1.4, 0.2],
    [6.2, 2.9, 4.3, 1.3],
    [5.9, 3.0, 4.2, 1.5],
    [6.3, 3.3, 6.0, 2.5],
    [7.1, 3.0, 5.9, 2.1],
    [5.0, 3.6, 1.4, 0.2],
    [6.7, 3.1, 4.4, 1.4],
]
IRIS_Y = [0, 0, 1, 1, 1, 1, 0, 1]


class FakeModel:
    """A ServedModel whose predict applies ``fn`` to the payload."""

    source = "fake"
    platform = "python"

    def __init__(self, fn: Callable[[Any], Any] | None = None, kind: InputKind = InputKind.PYTHON):
        self.fn = fn or (lambda payload: payload)
        self.input_kind = kind
        self.loaded = False
        self.timings = {"imports": 0.01, "model_load": 0.02}  # what the runtime reports

    async def load(self) -> None:
        self.loaded = True

    async def predict(self, payload: Any) -> Any:
        return self.fn(payload)

    def has_stage(self, name: str) -> bool:
        return False  # a predictor

    async def stage(self, name: str, payload: Any) -> Any:
        raise AssertionError("a predictor has no steps")


def write(directory: Path, name: str, source: str) -> Path:
    """Write a file (dedented source) into a model directory."""
    path = directory / name
    path.write_text(source)
    return path


@pytest.fixture(autouse=True)
def isolated_imports() -> Iterator[None]:
    """Forget the user scripts (and sibling modules) a test imported."""
    path = list(sys.path)
    yield
    added = tuple(p for p in sys.path if p not in path)
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if added and str(getattr(module, "__file__", None) or "").startswith(added):
            del sys.modules[name]


async def wait_ready(client: httpx.AsyncClient, timeout: float = 10.0) -> None:
    """Poll readiness (the model loads in the background), bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await client.get("/v2/health/ready")).status_code == 200:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the model did not become ready")


def client_for(app: RuntimeApp) -> httpx.AsyncClient:
    """An in-process client of the app (no network)."""
    return httpx.AsyncClient(transport=HandlerTransport(app.handle), base_url="http://replica")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """Start apps over models (lifespan entered, model ready); close them after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(model: Any, **config: Any) -> httpx.AsyncClient:
            app = create_app(RuntimeConfig(name="iris", model_version="3", **config), model)
            await stack.enter_async_context(app.running())
            client = await stack.enter_async_context(client_for(app))
            await wait_ready(client)
            return client

        yield start
