"""The replica's REST surface: the endpoints of contract section 1 over :mod:`shipyard.http1`.

Handlers only read the request, call the protocol translator and the :class:`DataPlane`, and
write JSON. :meth:`RuntimeApp.handle` routes by path and turns every error into
``{"error": "<message>"}`` in one place: a ``ShipyardError`` with its class's status, an unknown
path 404, a wrong method 405, anything else 500. :meth:`RuntimeApp.running` starts loading the
model in the background, so the port answers liveness while the model loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InvalidInput, NotFound, ShipyardError
from shipyard.http1 import Request, Response, error_response
from shipyard.runtime.batching import BatchPolicy
from shipyard.runtime.bodies import json_response, read_json, read_v2, v2_response
from shipyard.runtime.config import RuntimeConfig
from shipyard.runtime.dataplane import STAGES, DataPlane
from shipyard.runtime.metrics import CONTENT_TYPE, ReplicaMetrics
from shipyard.runtime.model import ServedModel
from shipyard.runtime.protocols import v1, v2
from shipyard.wire import paths
from shipyard.wire.bundle import BUNDLE_PATH, BUNDLE_TYPE, decode_requests, encode_responses
from shipyard.wire.headers import STAGE_HEADER
from shipyard.wire.paths import Action

log = logging.getLogger("shipyard.runtime")

LoadCallback = Callable[[BaseException | None, float], None]
"""Called once the background load ended: ``(error or None, seconds)``."""

_Endpoint = Callable[[Request, str], Awaitable[Response]]


class _MethodNotAllowed(Exception):
    pass


def _stage(request: Request) -> str | None:
    """The transformer step a request asks for, or None for a model call."""
    value = request.header(STAGE_HEADER)
    if value is None:
        return None
    stage = value.decode("latin-1")
    if stage not in STAGES:
        raise InvalidInput(f"unknown x-shipyard-stage {stage!r}: use one of {', '.join(STAGES)}")
    return stage


def _finish_v1(result: Any) -> Response:
    return json_response(v1.encode_response(result))


@dataclass(frozen=True, slots=True)
class _Planned:
    """A decoded model call: its model input and how its prediction becomes the answer."""

    payload: Any
    finish: Callable[[Any], Response]


def _error_answer(exc: BaseException, request: Request) -> Response:
    """The answer to a request whose handling raised ``exc`` (one mapping for all paths)."""
    if isinstance(exc, ShipyardError):
        return json_response({"error": exc.message}, int(exc.status))
    if isinstance(exc, _MethodNotAllowed):
        return error_response(405, f"Method Not Allowed: {request.method} {request.path}")
    log.error("internal error answering %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, f"internal error: {type(exc).__name__}: {exc}")


class _Endpoints:
    """Request handlers over one data plane; each gets the request and the model name."""

    def __init__(self, plane: DataPlane) -> None:
        self._plane = plane

    async def v1_model(self, request: Request, name: str) -> Response:
        self._plane.check_name(name)
        ready = self._plane.ready
        return json_response({"name": name, "ready": ready}, 200 if ready else 503)

    def plan(self, endpoint: _Endpoint, request: Request, name: str) -> _Planned | None:
        """A model call split around its prediction, or None for any other request.

        Raises:
            ShipyardError: the request is refused before the model is called.
        """
        if _stage(request) is not None:
            return None
        if endpoint == self.v1_predict:
            return self._plan_v1(request, name)
        if endpoint == self.v2_infer:
            return self._plan_v2(request, name)
        return None

    def _plan_v1(self, request: Request, name: str) -> _Planned:
        self._plane.check(name)
        payload = v1.decode_request(read_json(request), self._plane.input_kind)
        return _Planned(payload, _finish_v1)

    def _plan_v2(self, request: Request, name: str) -> _Planned:
        self._plane.check(name)
        infer_request = v2.parse_request(*read_v2(request))
        payload = v2.decode_inputs(infer_request, self._plane.input_kind)
        version = self._plane.version

        def finish(result: Any) -> Response:
            answer = v2.encode_response(
                result, infer_request, model_name=name, model_version=version
            )
            return v2_response(answer, infer_request)

        return _Planned(payload, finish)

    async def v1_predict(self, request: Request, name: str) -> Response:
        stage = _stage(request)
        if stage is None:
            planned = self._plan_v1(request, name)
            return planned.finish(await self._plane.infer(planned.payload))
        self._plane.check(name)
        body = read_json(request)
        if stage == "preprocess":  # a transformer: its answer is the predictor's request
            payload = v1.decode_request(body, self._plane.input_kind)
            return json_response({"instances": await self._plane.stage(stage, payload)})
        if stage == "postprocess":  # ... and the predictor's answer becomes the client's
            if not isinstance(body, dict) or "predictions" not in body:
                raise InvalidInput("postprocess needs the predictor's answer {'predictions': ...}")
            result = await self._plane.stage(stage, body["predictions"])
            return json_response(v1.encode_response(result))
        raise AssertionError(f"unknown stage {stage!r}")  # _stage only returns the two

    async def v1_list(self, request: Request, name: str) -> Response:
        return json_response({"models": [self._plane.name]})

    async def live(self, request: Request, name: str) -> Response:
        return json_response({"live": True})

    async def ready(self, request: Request, name: str) -> Response:
        ready = self._plane.ready
        if not ready:
            return json_response({"ready": ready}, 503)
        return json_response({"ready": ready, "timings": self._plane.timings})

    async def server_metadata(self, request: Request, name: str) -> Response:
        return json_response(self._plane.server_metadata())

    async def v2_model(self, request: Request, name: str) -> Response:
        return json_response(self._plane.model_metadata(name))

    async def v2_infer(self, request: Request, name: str) -> Response:
        stage = _stage(request)
        if stage is None:
            planned = self._plan_v2(request, name)
            return planned.finish(await self._plane.infer(planned.payload))
        self._plane.check(name)
        body, section = read_v2(request)
        if stage == "postprocess":  # the predictor's outputs are this step's inputs
            if not isinstance(body, dict) or not isinstance(body.get("outputs"), list):
                raise InvalidInput("postprocess needs the predictor's answer {'outputs': [...]}")
            body = {"id": body.get("id"), "inputs": body["outputs"]}
        infer_request = v2.parse_request(body, section)
        payload = v2.decode_inputs(infer_request, self._plane.input_kind)
        if stage == "preprocess":
            result = await self._plane.stage(stage, payload)
            return json_response(v2.encode_request(result, infer_request))
        result = await self._plane.stage(stage, payload)
        answer = v2.encode_response(
            result, infer_request, model_name=name, model_version=self._plane.version
        )
        return v2_response(answer, infer_request)


class _Router:
    """A request to its endpoint and model name, by the shared path table
    (:data:`shipyard.wire.paths.ENDPOINTS`)."""

    def __init__(self, endpoints: _Endpoints, plane: DataPlane) -> None:
        e = endpoints
        self._plane = plane
        self._by_action: dict[tuple[str, Action], _Endpoint] = {
            ("v1", Action.LIST): e.v1_list,
            ("v1", Action.METADATA): e.v1_model,
            ("v1", Action.PREDICT): e.v1_predict,
            ("v2", Action.METADATA): e.v2_model,
            ("v2", Action.READY): e.v1_model,
            ("v2", Action.INFER): e.v2_infer,
            ("server", Action.LIVE): e.live,
            ("server", Action.SERVER_READY): e.ready,
            ("server", Action.SERVER_METADATA): e.server_metadata,
        }

    def match(self, method: str, path: str) -> tuple[_Endpoint, str] | None:
        """The endpoint and model name for a request.

        Raises:
            _MethodNotAllowed: The path exists for another method.
            NotFound: The path names another model version than this replica's.
        """
        call = paths.match(method, path)
        if call is None:
            return None
        if isinstance(call, paths.WrongMethod):
            raise _MethodNotAllowed()
        if call.version is not None and call.version != self._plane.version:
            self._plane.check_name(call.name)  # another model: say that first
            raise NotFound(
                f"model {call.name!r} has no version {call.version!r}: the version deployed "
                f"is {self._plane.version!r}"
            )
        return self._by_action[(call.protocol, call.action)], call.name


class RuntimeApp:
    """The replica's request handler over one data plane (see the module docstring)."""

    def __init__(self, plane: DataPlane, on_loaded: LoadCallback | None) -> None:
        self._plane = plane
        self._on_loaded = on_loaded
        self._endpoints = _Endpoints(plane)
        self._router = _Router(self._endpoints, plane)

    async def handle(self, request: Request) -> Response:
        """Answer one request (errors included)."""
        if request.path == BUNDLE_PATH:
            return await self._bundle(request)
        if request.path == "/metrics" and request.method in ("GET", "HEAD"):
            return Response(200, self._plane.metrics.render(), content_type=CONTENT_TYPE)
        return await self._answer(request)

    async def _bundle(self, request: Request) -> Response:
        """Answer the requests of a gateway's bundle together (:mod:`shipyard.wire.bundle`).

        Each part is answered exactly as if it had come alone; they run concurrently, so the
        batcher combines them into as few model calls as its policy allows.
        """
        if request.method != "POST":
            return error_response(405, f"Method Not Allowed: {request.method} {request.path}")
        try:
            parts = decode_requests(request.body)
        except ValueError as exc:
            return error_response(400, str(exc))
        if any(part.path == BUNDLE_PATH for part in parts):
            return error_response(400, "bundle: a bundle cannot hold another bundle")
        answers: list[Response | None] = [None] * len(parts)
        calls: list[tuple[int, _Planned]] = []
        others: list[int] = []
        for index, part in enumerate(parts):
            try:
                planned = self._plan(part)
            except Exception as exc:
                answers[index] = _error_answer(exc, part)
                continue
            if planned is None:
                others.append(index)
            else:
                calls.append((index, planned))

        async def predict() -> None:
            results = await self._plane.infer_many([planned.payload for _, planned in calls])
            for (index, planned), result in zip(calls, results, strict=True):
                try:
                    if isinstance(result, BaseException):
                        raise result
                    answers[index] = planned.finish(result)
                except Exception as exc:
                    answers[index] = _error_answer(exc, parts[index])

        async def answer(index: int) -> None:
            answers[index] = await self._answer(parts[index])

        pending = [answer(index) for index in others] + ([predict()] if calls else [])
        if len(pending) == 1:
            await pending[0]
        elif pending:
            await asyncio.gather(*pending)
        done = [a if a is not None else error_response(500, "no answer") for a in answers]
        return Response(200, encode_responses(done), content_type=BUNDLE_TYPE)

    def _plan(self, request: Request) -> _Planned | None:
        """A bundle part that is a model call, decoded; None for any other request."""
        matched = self._router.match(request.method, request.path)
        if matched is None:
            return None
        endpoint, name = matched
        return self._endpoints.plan(endpoint, request, name)

    async def _answer(self, request: Request) -> Response:
        try:
            matched = self._router.match(request.method, request.path)
            if matched is None:
                return error_response(404, f"Not Found: {request.method} {request.path}")
            endpoint, name = matched
            return await endpoint(request, name)
        except Exception as exc:
            return _error_answer(exc, request)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Load the model in the background while the context is entered."""
        task = asyncio.create_task(_load(self._plane, self._on_loaded), name="shipyard-model-load")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _load(plane: DataPlane, on_loaded: LoadCallback | None) -> None:
    try:
        seconds = await plane.load()
    except Exception as exc:
        if on_loaded is None:
            log.error("loading the model failed", exc_info=exc)
        else:
            on_loaded(exc, 0.0)
        return
    if on_loaded is not None:
        on_loaded(None, seconds)


def create_app(
    config: RuntimeConfig, model: ServedModel, *, on_loaded: LoadCallback | None = None
) -> RuntimeApp:
    """The replica's request handler; entering :meth:`RuntimeApp.running` starts the load.

    Args:
        config: The replica's configuration (model name and version).
        model: The model to serve, not loaded yet.
        on_loaded: Called when the load ended (default: log a failure).

    Returns:
        The app, to serve with :class:`shipyard.http1.HttpServer`.
    """
    batching = None
    if config.max_batch_size > 1 and config.component == "predictor":
        batching = BatchPolicy(
            max_batch_size=config.max_batch_size,
            max_latency_s=config.max_latency_ms / 1000.0,
            timeout_s=config.batch_timeout_s,
        )
    labels = {
        "deployment": config.name,
        "model_version": config.model_version,
        "component": config.component,
    }
    plane = DataPlane(
        model,
        name=config.name,
        version=config.model_version,
        any_name=config.any_name,
        batching=batching,
        metrics=ReplicaMetrics(labels),
    )
    return RuntimeApp(plane, on_loaded)
