"""The request and response a handler of :mod:`shipyard.http1.server` sees and returns."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

RawHeaders = list[tuple[bytes, bytes]]


def target_path(target: str) -> str:
    """The percent-decoded path of a request target, without the query string."""
    raw = target.partition("?")[0]
    return unquote(raw) if "%" in raw else raw


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
        return target_path(self.target)

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


@dataclass(slots=True)
class Head:
    """A request head, parsed and checked, before any of its body is read."""

    method: str
    target: str
    headers: RawHeaders
    keep_alive: bool
    length: int | None
    """The ``content-length``, or None (chunked, or no body)."""
    chunked: bool = False
    expect_continue: bool = False

    @property
    def path(self) -> str:
        """The percent-decoded path, without the query string."""
        return target_path(self.target)

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lowercase), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


Admit = Callable[[Head], "Response | int | None"]
"""Called with each request head before its body is read: a :class:`Response` refuses the
request at once (the body is never buffered, the connection closes); an int is the largest body
this request may have; None keeps the server's bound."""


class BadRequest(Exception):
    """A request the server answers with ``status`` and closes the connection after."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ParserEvents(Protocol):
    """What a request parser reports to its connection, in order, per request."""

    def on_head(self, head: Head) -> None: ...

    def on_body(self, data: bytes) -> None: ...

    def on_complete(self) -> None: ...


class RequestParser(Protocol):
    """Turns the bytes of a connection into :class:`ParserEvents` (several requests in a row)."""

    def feed(self, data: bytes) -> None:
        """Parse ``data``; raises :class:`BadRequest` (or what an event raised)."""
        ...


ParserFactory = Callable[[ParserEvents, int], RequestParser]
"""``(events, max_head) -> parser``: one parser per connection."""

_INVALID_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def valid_value(value: bytes) -> bool:
    """Whether ``value`` may stand as a header value (RFC 9110 5.5: no controls but tab)."""
    return _INVALID_VALUE.search(value) is None


def valid_name(name: bytes) -> bool:
    """Whether ``name`` is a header name (an RFC 9110 token)."""
    return _TOKEN.fullmatch(name) is not None
