"""The only place errors become HTTP answers: one handler for the whole ShipyardError tree.

Every error answer has Shipyard's shape, ``{"error": {"code", "message", "details"}}``: the
ShipyardError tree, request validation (422 ``invalid_spec`` naming each field), and the HTTP
errors Starlette raises by itself (404 for an unknown path, 405 for a wrong method, ...), which
would otherwise answer FastAPI's ``{"detail": ...}``.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipyard.errors import InvalidSpec, ShipyardError

log = logging.getLogger("shipyard.api")


def json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot carry turned into text: infinities and NaN (as echoed
    from a request), bytes, and any other object (an error answer must never fail itself)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _answer(exc: ShipyardError) -> JSONResponse:
    return JSONResponse(json_safe({"error": exc.to_dict()}), status_code=int(exc.status))


async def _shipyard_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShipyardError)
    return _answer(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        errors.append({"field": ".".join(loc), "value": err.get("input"), "message": err["msg"]})
    text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return _answer(InvalidSpec(f"invalid request: {text}", details={"errors": errors}))


def _http_code(status: int) -> str:
    """``not_found`` for 404, ``method_not_allowed`` for 405: the tree's code, else the phrase."""
    classes: list[type[ShipyardError]] = ShipyardError.__subclasses__()
    for cls in classes:
        if int(cls.status) == status:
            return cls.code
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    where = f"{request.method} {request.url.path}"
    if exc.status_code == HTTPStatus.NOT_FOUND and detail == "Not Found":
        message = f"no such endpoint: {where} (the API is described at /docs and /openapi.json)"
    elif exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"method {request.method} is not allowed on {request.url.path}" + (
            f": use {allowed}" if allowed else ""
        )
    else:
        message = f"{where}: {detail}"
    body = {"error": {"code": _http_code(exc.status_code), "message": message, "details": {}}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return _answer(ShipyardError(f"internal error: {type(exc).__name__}: {exc}"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShipyardError, _shipyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
