"""Request and answer bodies of the replica's REST surface: JSON, and V2 in the binary extension.

Used by :mod:`shipyard.runtime.app`; the framing itself is :mod:`shipyard.wire.binary`.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from shipyard.errors import InferenceError, InvalidInput
from shipyard.http1 import Request, Response
from shipyard.runtime.codec import json_default
from shipyard.runtime.protocols import v2
from shipyard.wire import binary

_ENCODER = json.JSONEncoder(default=json_default, separators=(",", ":"))
"""What ``json.dumps`` with these options would build on every call (stateless, reusable)."""


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response encoded with the stdlib (numpy/pandas values converted on the way)."""
    try:
        content = _ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"the prediction cannot be encoded as JSON: {exc}") from exc
    return Response(status, content.encode())


def read_json(request: Request, body: bytes | memoryview | None = None) -> Any:
    """The request body (or its JSON header ``body``) parsed as JSON.

    Raises:
        InvalidInput: The body is not valid JSON.
    """
    body = request.body if body is None else bytes(body)  # a header slice: small
    try:
        if body[:3] == codecs.BOM_UTF8 or b"\x00" in body[:4]:
            return json.loads(body)  # a BOM, or UTF-16/32: let json detect the encoding
        return json.loads(body.decode())  # UTF-8, JSON's wire encoding: no detection pass
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None


def read_v2(request: Request) -> tuple[Any, memoryview | None]:
    """A V2 body's JSON (header) and, in the binary extension, the bytes after it.

    Raises:
        InvalidInput: The framing header is malformed, or the JSON is not valid.
    """
    try:
        length = binary.header_length(request.header(binary.HEADER_LENGTH), len(request.body))
    except binary.FramingError as exc:
        raise InvalidInput(str(exc)) from None
    if length is None:
        try:
            return read_json(request), None
        except InvalidInput as exc:
            if "Extra data" not in exc.message:
                raise
            hint = "; binary tensor data needs an Inference-Header-Content-Length header"
            raise InvalidInput(exc.message + hint) from None
    header, section = binary.split_body(request.body, length)
    return read_json(request, header), section


def v2_response(answer: dict[str, Any], request: v2.InferRequest) -> Response:
    """The V2 answer: JSON, or a JSON header and binary outputs when the request asks so."""
    buffers = v2.binary_outputs(answer, request)
    if not buffers:
        return json_response(answer)
    header = json_response(answer).body
    return Response(
        200,
        binary.join_body(header, buffers),
        content_type=binary.BINARY_TYPE,
        headers=[(binary.HEADER_LENGTH, b"%d" % len(header))],
    )
