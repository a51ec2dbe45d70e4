"""A small stdlib-only HTTP/1.1 server for the data path (gateway and replica runtime)."""

from shipyard.http1.messages import (
    JSON,
    Handler,
    RawHeaders,
    Request,
    Response,
    error_response,
    json_response,
)
from shipyard.http1.run import run, serve_until_stopped
from shipyard.http1.server import HttpServer

__all__ = [
    "JSON",
    "Handler",
    "HttpServer",
    "RawHeaders",
    "Request",
    "Response",
    "error_response",
    "json_response",
    "run",
    "serve_until_stopped",
]
