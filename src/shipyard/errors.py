"""The single Shipyard error hierarchy (stdlib only; every layer may import it).

Each class carries a stable ``code`` (what goes on the wire) and an HTTP ``status``; the
API maps any ``ShipyardError`` to HTTP in one place (``shipyard.api.errors``) and the SDK maps
``code`` back to the same class, so ``except NotFound`` works on both sides of the wire.

    ShipyardError                 500 internal
    ├── InvalidSpec               422 invalid_spec        (a spec field is wrong; details.errors)
    ├── InvalidInput              400 invalid_input       (an inference payload is wrong)
    ├── Unauthorized              401 unauthorized
    ├── Forbidden                 403 forbidden
    ├── NotFound                  404 not_found
    ├── Conflict                  409 conflict
    │   └── AlreadyExists         409 already_exists
    ├── PayloadTooLarge           413 payload_too_large
    ├── InferenceError            500 inference_failed    (user code raised while predicting)
    ├── BackendUnavailable        502 backend_unavailable
    ├── NotReady                  503 not_ready           (no ready replica, stopped, loading)
    ├── ModelServeError           503 model_serve_error   (a deployment cannot start or serve)
    └── TimeoutExpired            504 timeout             (an await_* wait ran out)
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose."""

    code: ClassVar[str] = "internal"
    status: ClassVar[HTTPStatus] = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The wire form used by the control-plane API."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidSpec(ShipyardError):
    """A specification field has a value that cannot be accepted."""

    code = "invalid_spec"
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidInput(ShipyardError):
    """An inference request or uploaded artifact is malformed."""

    code = "invalid_input"
    status = HTTPStatus.BAD_REQUEST


class Unauthorized(ShipyardError):
    code = "unauthorized"
    status = HTTPStatus.UNAUTHORIZED


class Forbidden(ShipyardError):
    code = "forbidden"
    status = HTTPStatus.FORBIDDEN


class NotFound(ShipyardError):
    code = "not_found"
    status = HTTPStatus.NOT_FOUND


class Conflict(ShipyardError):
    code = "conflict"
    status = HTTPStatus.CONFLICT


class AlreadyExists(Conflict):
    code = "already_exists"


class PayloadTooLarge(ShipyardError):
    code = "payload_too_large"
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class InferenceError(ShipyardError):
    """User code raised while predicting."""

    code = "inference_failed"
    status = HTTPStatus.INTERNAL_SERVER_ERROR


class BackendUnavailable(ShipyardError):
    code = "backend_unavailable"
    status = HTTPStatus.BAD_GATEWAY


class NotReady(ShipyardError):
    code = "not_ready"
    status = HTTPStatus.SERVICE_UNAVAILABLE


class ModelServeError(ShipyardError):
    """A deployment cannot start or serve its model (crash loop, too little memory, ...)."""

    code = "model_serve_error"
    status = HTTPStatus.SERVICE_UNAVAILABLE


class TimeoutExpired(ShipyardError):
    code = "timeout"
    status = HTTPStatus.GATEWAY_TIMEOUT


def _all_subclasses(cls: type[ShipyardError]) -> list[type[ShipyardError]]:
    out: list[type[ShipyardError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def error_class_for(code: str) -> type[ShipyardError]:
    """The error class whose ``code`` is ``code`` (``ShipyardError`` when unknown)."""
    for cls in _all_subclasses(ShipyardError):
        if cls.code == code:
            return cls
    return ShipyardError
