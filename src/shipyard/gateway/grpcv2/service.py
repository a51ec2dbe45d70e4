"""``GRPCInferenceService`` served with ``grpc.aio`` on the gateway's gRPC port.

Every call is answered by the gateway's REST handler (:meth:`GatewayApp.handle`) through
:mod:`.translate`, so API keys (metadata ``authorization``), routing, retries, bundling and
holding from zero are exactly those of REST. :func:`serving` runs the server while its context
is entered; the port is shared by the gateway's workers (``SO_REUSEPORT``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc

from shipyard.gateway.grpcv2 import grpc_predict_v2_pb2 as pb
from shipyard.gateway.grpcv2 import translate
from shipyard.http1 import Request, Response
from shipyard.wire import binary

Handler = Callable[[Request], Awaitable[Response]]


def _key(context: grpc.aio.ServicerContext[Any, Any]) -> bytes | None:
    for name, value in context.invocation_metadata() or ():
        if name.lower() == "authorization":
            return value.encode("latin-1") if isinstance(value, str) else value
    return None


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], failure: translate.Failure
) -> NoReturn:
    await context.abort(failure.code, failure.message)
    raise AssertionError("abort returns by raising")


SERVICE = "inference.GRPCInferenceService"
"""The service's full name, as standard clients call it (``/<SERVICE>/<method>``)."""


class InferenceService:
    """The V2 gRPC calls over the gateway's REST handler."""

    def __init__(self, handle: Handler) -> None:
        self._handle = handle

    async def _call(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        method: str,
        target: str,
        body: bytes = b"",
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> Response:
        request = translate.rest_request(method, target, _key(context), body)
        request.headers.extend(extra or [])
        response = await self._handle(request)
        failed = translate.failure(response)
        if failed is not None:
            await _abort(context, failed)
        return response

    async def ServerLive(self, request: Any, context: Any) -> Any:
        response = await self._handle(translate.rest_request("GET", "/v2/health/live", None))
        return pb.ServerLiveResponse(live=response.status == 200)

    async def ServerReady(self, request: Any, context: Any) -> Any:
        response = await self._handle(translate.rest_request("GET", "/v2/health/ready", None))
        return pb.ServerReadyResponse(ready=response.status == 200)

    async def ServerMetadata(self, request: Any, context: Any) -> Any:
        body = json.loads((await self._call(context, "GET", "/v2")).body)
        return pb.ServerMetadataResponse(
            name=str(body.get("name", "")),
            version=str(body.get("version", "")),
            extensions=[str(e) for e in body.get("extensions") or []],
        )

    async def ModelReady(self, request: Any, context: Any) -> Any:
        target = translate.model_path(request.name, request.version, "/ready")
        response = await self._handle(translate.rest_request("GET", target, _key(context)))
        if response.status == 503:
            return pb.ModelReadyResponse(ready=False)
        failed = translate.failure(response)
        if failed is not None:
            await _abort(context, failed)
        return pb.ModelReadyResponse(ready=True)

    async def ModelMetadata(self, request: Any, context: Any) -> Any:
        target = translate.model_path(request.name, request.version)
        body = json.loads((await self._call(context, "GET", target)).body)
        return translate.model_metadata(body)

    async def ModelInfer(self, request: Any, context: Any) -> Any:
        try:
            body, length = translate.infer_body(request)
        except translate.TranslationError as exc:
            await _abort(context, translate.Failure(grpc.StatusCode.INVALID_ARGUMENT, str(exc)))
        target = translate.model_path(request.model_name, request.model_version, "/infer")
        framing = [(binary.HEADER_LENGTH, b"%d" % length), (b"content-type", binary.BINARY_TYPE)]
        response = await self._call(context, "POST", target, body, framing)
        try:
            return translate.infer_response(response)
        except (ValueError, KeyError, TypeError) as exc:
            failed = translate.Failure(grpc.StatusCode.INTERNAL, f"malformed answer: {exc}")
            await _abort(context, failed)

    async def RepositoryIndex(self, request: Any, context: Any) -> Any:
        body = json.dumps({"ready": request.ready}).encode()
        answer = await self._call(context, "POST", "/v2/repository/index", body)
        models = [pb.RepositoryIndexResponse.ModelIndex(**m) for m in json.loads(answer.body)]
        return pb.RepositoryIndexResponse(models=models)

    async def RepositoryModelLoad(self, request: Any, context: Any) -> Any:
        await self._call(context, "POST", translate.repository_path(request.model_name, "load"))
        return pb.RepositoryModelLoadResponse()

    async def RepositoryModelUnload(self, request: Any, context: Any) -> Any:
        await self._call(context, "POST", translate.repository_path(request.model_name, "unload"))
        return pb.RepositoryModelUnloadResponse()


_CALLS = {
    "ServerLive": ("ServerLiveRequest", "ServerLiveResponse"),
    "ServerReady": ("ServerReadyRequest", "ServerReadyResponse"),
    "ModelReady": ("ModelReadyRequest", "ModelReadyResponse"),
    "ServerMetadata": ("ServerMetadataRequest", "ServerMetadataResponse"),
    "ModelMetadata": ("ModelMetadataRequest", "ModelMetadataResponse"),
    "ModelInfer": ("ModelInferRequest", "ModelInferResponse"),
    "RepositoryIndex": ("RepositoryIndexRequest", "RepositoryIndexResponse"),
    "RepositoryModelLoad": ("RepositoryModelLoadRequest", "RepositoryModelLoadResponse"),
    "RepositoryModelUnload": ("RepositoryModelUnloadRequest", "RepositoryModelUnloadResponse"),
}
"""The calls served: method → (request message, response message) of the V2 service."""


def handlers(service: InferenceService) -> Any:
    """The service's methods as a generic handler under :data:`SERVICE`."""
    methods = {
        method: grpc.unary_unary_rpc_method_handler(
            getattr(service, method),
            request_deserializer=getattr(pb, request).FromString,
            response_serializer=getattr(pb, response).SerializeToString,
        )
        for method, (request, response) in _CALLS.items()
    }
    return grpc.method_handlers_generic_handler(SERVICE, methods)


@contextlib.asynccontextmanager
async def serving(
    handle: Handler, bind: str, port: int, *, max_message_bytes: int
) -> AsyncIterator[int]:
    """Serve ``GRPCInferenceService`` on ``bind:port`` while entered (yields the bound port)."""
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 1),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
    )
    server.add_generic_rpc_handlers((handlers(InferenceService(handle)),))
    host = f"[{bind}]" if ":" in bind else bind  # an IPv6 address
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"the gateway's gRPC port {bind}:{port} cannot be bound")
    await server.start()
    try:
        yield bound
    finally:
        await server.stop(grace=2.0)
