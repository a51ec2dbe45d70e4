"""The replica's REST surface: a Starlette app factory with the endpoints of contract section 1.

Handlers only read the request, call the protocol translator and the :class:`DataPlane`, and
write JSON. Every error becomes ``{"error": "<message>"}`` in one handler keyed on
``ShipyardError`` (plus Starlette's own 404/405). The app's lifespan starts loading the model in
the background, so the port answers liveness while the model loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shipyard.errors import InferenceError, InvalidInput, ShipyardError
from shipyard.runtime.batching import BatchPolicy
from shipyard.runtime.codec import json_default
from shipyard.runtime.config import RuntimeConfig
from shipyard.runtime.dataplane import DataPlane
from shipyard.runtime.model import ServedModel
from shipyard.runtime.protocols import v1, v2

log = logging.getLogger("shipyard.runtime")

STAGE_HEADER = "x-shipyard-stage"
"""Set by the gateway on a transformer's requests: ``preprocess`` or ``postprocess``."""

LoadCallback = Callable[[BaseException | None, float], None]
"""Called once the background load ended: ``(error or None, seconds)``."""


def json_response(body: Any, status_code: int = 200) -> Response:
    """A JSON response encoded with the stdlib (numpy/pandas values converted on the way)."""
    try:
        content = json.dumps(body, default=json_default, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"the prediction cannot be encoded as JSON: {exc}") from exc
    return Response(content.encode(), status_code, media_type="application/json")


async def read_json(request: Request) -> Any:
    """The request body parsed as JSON.

    Raises:
        InvalidInput: The body is not valid JSON.
    """
    try:
        return json.loads(await request.body())
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None


class _Endpoints:
    """Request handlers over one data plane."""

    def __init__(self, plane: DataPlane) -> None:
        self._plane = plane

    async def v1_model(self, request: Request) -> Response:
        name = request.path_params["name"]
        self._plane.check_name(name)
        ready = self._plane.ready
        return json_response({"name": name, "ready": ready}, 200 if ready else 503)

    async def v1_predict(self, request: Request) -> Response:
        self._plane.check(request.path_params["name"])
        body = await read_json(request)
        stage = request.headers.get(STAGE_HEADER)
        if stage == "preprocess":  # a transformer: its answer is the predictor's request
            payload = v1.decode_request(body, self._plane.input_kind)
            return json_response({"instances": await self._plane.stage(stage, payload)})
        if stage == "postprocess":  # ... and the predictor's answer becomes the client's
            if not isinstance(body, dict) or "predictions" not in body:
                raise InvalidInput("postprocess needs the predictor's answer {'predictions': ...}")
            result = await self._plane.stage(stage, body["predictions"])
            return json_response(v1.encode_response(result))
        payload = v1.decode_request(body, self._plane.input_kind)
        return json_response(v1.encode_response(await self._plane.infer(payload)))

    async def live(self, request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        ready = self._plane.ready
        return json_response({"ready": ready}, 200 if ready else 503)

    async def server_metadata(self, request: Request) -> Response:
        return json_response(self._plane.server_metadata())

    async def v2_model(self, request: Request) -> Response:
        return json_response(self._plane.model_metadata(request.path_params["name"]))

    async def v2_model_ready(self, request: Request) -> Response:
        return await self.v1_model(request)

    async def v2_infer(self, request: Request) -> Response:
        name = request.path_params["name"]
        self._plane.check(name)
        if "inference-header-content-length" in request.headers:
            raise InvalidInput("binary tensor data is not supported: send JSON (binary_data=False)")
        body = await read_json(request)
        stage = request.headers.get(STAGE_HEADER)
        if stage == "postprocess":  # the predictor's outputs are this step's inputs
            if not isinstance(body, dict) or not isinstance(body.get("outputs"), list):
                raise InvalidInput("postprocess needs the predictor's answer {'outputs': [...]}")
            body = {"id": body.get("id"), "inputs": body["outputs"]}
        infer_request = v2.parse_request(body)
        payload = v2.decode_inputs(infer_request, self._plane.input_kind)
        if stage == "preprocess":
            result = await self._plane.stage(stage, payload)
            return json_response(v2.encode_request(result, infer_request))
        if stage == "postprocess":
            result = await self._plane.stage(stage, payload)
        else:
            result = await self._plane.infer(payload)
        answer = v2.encode_response(
            result, infer_request, model_name=name, model_version=self._plane.version
        )
        return json_response(answer)


def _routes(endpoints: _Endpoints) -> list[Route]:
    get, post = ["GET"], ["POST"]
    routes = [
        Route("/v1/models/{name}", endpoints.v1_model, methods=get),
        Route("/v1/models/{name}:predict", endpoints.v1_predict, methods=post),
        Route("/v2", endpoints.server_metadata, methods=get),
        Route("/v2/health/live", endpoints.live, methods=get),
        Route("/v2/health/ready", endpoints.ready, methods=get),
    ]
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        routes += [
            Route(prefix, endpoints.v2_model, methods=get),
            Route(prefix + "/ready", endpoints.v2_model_ready, methods=get),
            Route(prefix + "/infer", endpoints.v2_infer, methods=post),
        ]
    return routes


async def _shipyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipyardError)
    return json_response({"error": exc.message}, int(exc.status))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = f"{exc.detail}: {request.method} {request.url.path}"
    return Response(
        json.dumps({"error": message}).encode(),
        exc.status_code,
        headers=exc.headers,
        media_type="application/json",
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    return json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)


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
) -> Starlette:
    """The replica's ASGI app; entering its lifespan starts loading ``model`` in the background.

    Args:
        config: The replica's configuration (model name and version).
        model: The model to serve, not loaded yet.
        on_loaded: Called when the load ended (default: log a failure).

    Returns:
        The Starlette application.
    """
    batching = None
    if config.max_batch_size > 1 and config.component == "predictor":
        batching = BatchPolicy(
            max_batch_size=config.max_batch_size,
            max_latency_s=config.max_latency_ms / 1000.0,
            timeout_s=config.batch_timeout_s,
        )
    plane = DataPlane(
        model,
        name=config.name,
        version=config.model_version,
        any_name=config.any_name,
        batching=batching,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_load(plane, on_loaded), name="shipyard-model-load")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Starlette(
        routes=_routes(_Endpoints(plane)),
        exception_handlers={
            ShipyardError: _shipyard_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
