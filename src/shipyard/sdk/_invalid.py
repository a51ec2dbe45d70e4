"""Client-side spec errors in the server's shape: ``InvalidSpec`` with ``details.errors``.

Shared by the SDK's spec builders (``_components``, ``_resources``, ``_params``): each names the
field, the value and the rule, as the server's 422 answers do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from shipyard.errors import InvalidSpec
from shipyard.spec.validation import FieldError

T = TypeVar("T")


def field_errors(*errors: FieldError) -> dict[str, Any]:
    """``InvalidSpec`` details in the server's shape: ``{"errors": [{field, value, message}]}``."""
    return {"errors": [error.as_dict() for error in errors]}


def spec_error(field: str, value: Any, message: str) -> InvalidSpec:
    """An ``InvalidSpec`` about one field, with details in the server's shape."""
    return InvalidSpec(message, details=field_errors(FieldError(field, value, message)))


def invalid_spec(exc: ValidationError, what: str) -> InvalidSpec:
    """A pydantic validation error as ``InvalidSpec`` listing every field, like the server."""
    errors = [
        FieldError(
            ".".join(str(part) for part in error["loc"]) or what,
            error["input"] if isinstance(error["input"], str | int | float | bool) else None,
            error["msg"],
        )
        for error in exc.errors(include_url=False, include_context=False)
    ]
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return InvalidSpec(f"invalid {what}: {summary}", details=field_errors(*errors))


def build_spec(factory: Callable[[], T], what: str) -> T:
    """Call a spec constructor, turning its validation errors into ``InvalidSpec``."""
    try:
        return factory()
    except ValidationError as exc:
        raise invalid_spec(exc, what) from None
