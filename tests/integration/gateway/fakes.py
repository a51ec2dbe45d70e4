"""Real-socket stand-ins for the gateway's neighbours: a control plane, replicas, the gateway.

Every server binds 127.0.0.1 port 0 (or a port found that way) and runs in a background thread
(uvicorn) or a subprocess (the gateway itself, ``python -m shipyard.gateway``). Every wait is
bounded; every ``start`` has a ``stop``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HOST = "127.0.0.1"
TOKEN = "internal-token"
KEY_A, KEY_B = "key-of-project-a", "key-of-project-b"
KEYS = {KEY_A: "proj-a", KEY_B: "proj-b"}
AUTH_A = {"Authorization": f"ApiKey {KEY_A}"}
AUTH_B = {"Authorization": f"Bearer {KEY_B}"}


def deployment(
    name: str,
    predictor: list[str],
    project: str = "proj-a",
    state: str = "RUNNING",
    message: str = "",
) -> dict[str, Any]:
    return {"project_id": project, "name": name, "state": state, "message": message,
            "revision": 1, "predictor": predictor, "transformer": []}  # fmt: skip


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def wait_until(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` every 10 ms; return the seconds it took, fail after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class ThreadServer:
    """A Starlette app served by uvicorn in a daemon thread on a loopback port."""

    def __init__(self, app: Starlette) -> None:
        self._app = app
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            ws="none",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._sock, self._server = sock, server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        wait_until(lambda: server.started, 10, f"server on port {self.port}")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            assert not self._thread.is_alive(), "server thread did not stop"
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None


class FakeControl:
    """``GET /internal/routes`` with long-poll semantics over a table the test controls."""

    def __init__(self, token: str, keys: dict[str, str]) -> None:
        self.token = token
        self.keys = {key_hash(key): project for key, project in keys.items()}
        self.available = True
        self._closing = False
        self.applied = -1
        """The version the gateway reported in its latest poll (``after``)."""
        self.version = 0
        self._payload: dict[str, Any] = {"version": 0, "keys": {}, "deployments": []}
        self.server = ThreadServer(Starlette(routes=[Route("/internal/routes", self._routes)]))

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self._closing = False
        self.server.start()

    def stop(self) -> None:
        self._closing = True  # end pending long polls at once
        self.server.stop()

    def publish(self, deployments: list[dict[str, Any]]) -> int:
        version = self.version + 1
        self._payload = {"version": version, "keys": self.keys, "deployments": deployments}
        self.version = version
        return version

    def republish(self) -> int:
        """The same deployments under a new version."""
        return self.publish(self._payload["deployments"])

    def wait_applied(self, timeout: float = 5.0) -> float:
        """Wait until the gateway polls with the latest version; return the seconds it took."""
        version = self.version
        return wait_until(lambda: self.applied >= version, timeout, f"table version {version}")

    async def _routes(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "bad internal token"}, status_code=401)
        after = int(request.query_params["after"])
        deadline = time.monotonic() + float(request.query_params["wait"])
        self.applied = after
        while (
            self.available
            and not self._closing
            and self.version <= after
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.01)
        if not self.available:
            return JSONResponse({"error": "control plane unavailable"}, status_code=503)
        return JSONResponse(self._payload)


class FakeReplica:
    """Answers V1/V2 like a replica runtime, echoes V2 bodies, counts hits.

    A V1 request with ``x-delay-ms: N`` is answered after N ms.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        self.last_body = b""
        self.last_headers: dict[str, str] = {}
        self.last_target = ""
        app = Starlette(
            routes=[
                Route("/v1/models/{rest:path}", self._v1, methods=["GET", "POST"]),
                Route("/v2/models/{rest:path}", self._v2, methods=["GET", "POST"]),
            ]
        )
        self.server = ThreadServer(app)

    @property
    def url(self) -> str:
        return self.server.url

    async def _record(self, request: Request) -> None:
        self.hits += 1
        self.last_body = await request.body()
        self.last_headers = dict(request.headers)
        query = request.url.query
        self.last_target = request.url.path + (f"?{query}" if query else "")

    async def _v1(self, request: Request) -> Response:
        await self._record(request)
        delay_ms = request.headers.get("x-delay-ms")
        if delay_ms:  # a slow prediction: keeps this replica busy
            await asyncio.sleep(int(delay_ms) / 1000)
        rest = request.path_params["rest"]
        if request.method == "GET":
            return JSONResponse({"name": rest, "ready": True})
        return JSONResponse({"predictions": [0], "replica": self.name})

    async def _v2(self, request: Request) -> Response:
        await self._record(request)
        if request.method == "GET":
            return JSONResponse({"name": request.path_params["rest"], "ready": True})
        media_type = request.headers.get("content-type", "application/octet-stream")
        return Response(self.last_body, media_type=media_type, headers={"x-replica": self.name})


class _DropHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)  # read the request, then hang up without an answer


class DroppingReplica:
    """A TCP server that accepts a request and closes the connection without answering."""

    def __init__(self) -> None:
        self._server = socketserver.ThreadingTCPServer((HOST, 0), _DropHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


class GatewayProcess:
    """``python -m shipyard.gateway`` as a subprocess, configured by ``SHIPYARD_*`` variables."""

    def __init__(self, control_url: str, token: str, log_path: Path) -> None:
        self.port = free_port()
        # a free port of its own: the default (the REST port + 1) may be any process's
        # ephemeral port, such as a runtime's the test started just before
        self.grpc_port = next(p for p in iter(free_port, None) if p != self.port)
        self.log_path = log_path
        self._env = {
            **os.environ,
            "SHIPYARD_BIND": HOST,
            "SHIPYARD_GATEWAY_PORT": str(self.port),
            "SHIPYARD_GATEWAY_GRPC_PORT": str(self.grpc_port),
            "SHIPYARD_GATEWAY_CONTROL_URL": control_url,
            "SHIPYARD_INTERNAL_TOKEN": token,
            "SHIPYARD_GATEWAY_POLL_WAIT_S": "2",
            "SHIPYARD_GATEWAY_ATTEMPTS": "3",
            "SHIPYARD_LOG_LEVEL": "warning",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0, *, wait: bool = True) -> None:
        """Start it; with ``wait``, until it answers (it listens once it holds a table)."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shipyard.gateway"],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            wait_until(self._live, timeout, f"gateway live; log:\n{self.log_path}")

    def _live(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"gateway exited: {self.log_path.read_text()}")
        try:
            return httpx.get(f"{self.url}/v2/health/live", timeout=1, trust_env=False).is_success
        except httpx.TransportError:
            return False

    def stop(self) -> int:
        """SIGTERM, then wait (kill after 10 s); the exit code.

        uvicorn re-raises SIGTERM after its graceful shutdown (lifespan included), so a clean
        exit is ``-SIGTERM``; this returns 0 for it.
        """
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            code = self.proc.wait(10)
            return 0 if code == -signal.SIGTERM else code
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError("gateway ignored SIGTERM") from None
        finally:
            self.proc = None
