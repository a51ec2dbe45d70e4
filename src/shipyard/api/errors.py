"""The only place errors become HTTP answers: one handler for the whole ShipyardError tree."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shipyard.errors import InvalidSpec, ShipyardError

log = logging.getLogger("shipyard.api")


def _answer(exc: ShipyardError) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=int(exc.status))


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


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return _answer(ShipyardError(f"internal error: {type(exc).__name__}: {exc}"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShipyardError, _shipyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
