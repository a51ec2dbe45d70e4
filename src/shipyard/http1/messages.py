"""The request and response a handler of :mod:`shipyard.http1.server` sees and returns."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

RawHeaders = list[tuple[bytes, bytes]]
"""Header (name, value) pairs; names are lowercase."""

JSON = b"application/json"


@dataclass(slots=True)
class Request:
    """One parsed HTTP/1.1 request with its whole body."""

    method: str
    target: str
    """The request target exactly as received (path and query string)."""
    headers: RawHeaders
    body: bytes = b""

    @property
    def path(self) -> str:
        """The percent-decoded path, without the query string."""
        raw = self.target.partition("?")[0]
        return unquote(raw) if "%" in raw else raw

    @property
    def query(self) -> str:
        """The raw query string (empty if none)."""
        return self.target.partition("?")[2]

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lowercase), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(slots=True)
class Response:
    """A whole answer. ``content-length`` and ``date`` are added by the server."""

    status: int
    body: bytes = b""
    content_type: bytes | None = JSON
    headers: RawHeaders = field(default_factory=list)
    """Further headers (lowercase names); never ``content-length`` or hop-by-hop ones."""


def json_response(body: object, status: int = 200) -> Response:
    """``body`` as compact JSON."""
    return Response(status, json.dumps(body, separators=(",", ":")).encode())


def error_response(status: int, message: str) -> Response:
    """The ``{"error": "<message>"}`` answer of every error on the data path."""
    return json_response({"error": message}, status)


Handler = Callable[[Request], Awaitable[Response]]
"""What a server calls for each request. Exceptions it lets escape become a 500."""
