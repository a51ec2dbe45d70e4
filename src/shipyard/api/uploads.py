"""Model uploads are judged before their body is read, and bounded while it streams.

FastAPI reads (and spools) a whole multipart body before any dependency runs, so the key and the
size limit of ``POST /api/v1/models/{name}/versions`` are checked here, in a pure ASGI
middleware in front of the app: a missing or invalid key is answered 401 and a declared
``content-length`` over the limit 413, both before a byte of the body is received; a body that
streams past the limit (chunked, or lying about its length) is answered 413 at the limit, the
app then sees the client gone and stores nothing (the multipart parser's spool files are
anonymous temporary files, and the artifact folder is only made once the whole body is in).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.errors import PayloadTooLarge, ShipyardError

UPLOAD_PATH = re.compile(r"/api/v1/models/[^/]+/versions/?")
FORM_SLACK = 1024 * 1024
"""Bytes allowed beyond the artifact limit for the multipart framing and the metadata field."""


def _error(exc: ShipyardError) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=int(exc.status))


class UploadGuard:
    """The ASGI middleware (see the module docstring).

    Args:
        app: the application behind it.
        authenticate: raises a :class:`ShipyardError` (401/403) for the request's
            ``authorization`` header, else returns (run in a worker thread: it reads the store).
        limit_bytes: the artifact upload limit, read per request (a setting).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[str | None], object],
        limit_bytes: Callable[[], int],
    ) -> None:
        self.app = app
        self._authenticate = authenticate
        self._limit = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not UPLOAD_PATH.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self._limit()
        try:
            await run_in_threadpool(self._authenticate, headers.get("authorization"))
            _check_length(headers.get("content-length"), limit)
        except ShipyardError as exc:
            await _error(exc)(scope, receive, send)  # the body is never read
            return
        await _Bounded(self.app, limit + FORM_SLACK, limit)(scope, receive, send)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"upload is over the limit of {limit // (1024 * 1024)} MiB "
        "(setting SHIPYARD_MAX_UPLOAD_MB)",
        details={"limit_bytes": limit},
    )


def _check_length(value: str | None, limit: int) -> None:
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and int(value) > limit + FORM_SLACK:
        raise _too_large(limit)


class _Bounded:
    """Runs the app with a ``receive`` that stops the body at ``bound`` bytes: 413 is sent
    then, the app is told the client left, and whatever it answers after is dropped."""

    def __init__(self, app: ASGIApp, bound: int, limit: int) -> None:
        self._app, self._bound, self._limit = app, bound, limit
        self._received = 0
        self._refused = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def bounded_receive() -> Message:
            if self._refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self._received += len(message.get("body", b""))
                if self._received > self._bound:
                    self._refused = True
                    await _error(_too_large(self._limit))(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not self._refused:
                await send(message)

        try:
            await self._app(scope, bounded_receive, guarded_send)
        except Exception:
            if not self._refused:
                raise  # else: the app failed on the client "gone": already answered 413
