"""A small stdlib-only HTTP/1.1 server for the data path (gateway and replica runtime)."""

from shipyard.http1.messages import (
    JSON,
    Admit,
    BadRequest,
    Handler,
    Head,
    ParserEvents,
    ParserFactory,
    RawHeaders,
    Request,
    RequestParser,
    Response,
    error_response,
    json_response,
)
from shipyard.http1.run import run, serve_until_stopped
from shipyard.http1.server import HttpServer

__all__ = [
    "JSON",
    "Admit",
    "BadRequest",
    "Handler",
    "Head",
    "HttpServer",
    "ParserEvents",
    "ParserFactory",
    "RawHeaders",
    "Request",
    "RequestParser",
    "Response",
    "error_response",
    "json_response",
    "run",
    "serve_until_stopped",
]
