"""The gateway's world in its unit tests: the control plane behind an httpx MockTransport, the
replicas behind the gateway's real upstream client over an in-memory network
(:mod:`tests.memory_network`) to real :class:`HttpServer` connections."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from shipyard.gateway.app import create_app
from shipyard.http1 import HttpServer, Request, Response
from shipyard.settings import GatewaySettings
from shipyard.wire.bundle import BUNDLE_PATH, BUNDLE_TYPE, decode_requests, encode_responses
from tests.handler_transport import HandlerTransport
from tests.memory_network import Dropper, MemoryNetwork, ServerSide

KEY_A, KEY_B = "key-of-a", "key-of-b"
AUTH_A = {"Authorization": f"ApiKey {KEY_A}"}
UNAUTHORIZED = {"error": "missing or invalid API key: send 'Authorization: ApiKey <key>'"}


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def deployment(name: str, predictor: list[str], project: str = "pa", **kw: Any) -> dict[str, Any]:
    return {"project_id": project, "name": name, "state": "RUNNING", "message": "",
            "revision": 1, "predictor": predictor, "transformer": [], **kw}  # fmt: skip


def streamed(status: int, data: bytes, content_type: str, **headers: str) -> Response:
    extra = [(name.encode(), value.encode()) for name, value in headers.items()]
    return Response(status, data, content_type.encode(), extra)


@dataclass
class World:
    """The control plane's table and the replicas' behaviour, as the mock transport sees them."""

    version: int = 1
    deployments: list[dict[str, Any]] = field(default_factory=list)
    control_up: bool = True
    reachable: bool = True
    """False: the control plane's connections are refused (it crashed)."""
    hits: Counter[str] = field(default_factory=Counter)
    received: list[httpx.Request] = field(default_factory=list)
    """What replicas received, as httpx requests (for their url, headers and content)."""
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    applied: int = -1
    """The version the gateway reported in its last poll."""
    wakes: list[dict[str, Any]] = field(default_factory=list)
    traffic: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, deployments: list[dict[str, Any]]) -> None:
        self.deployments = deployments
        self.version += 1

    async def wait_applied(self) -> None:
        for _ in range(500):
            if self.applied >= self.version:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"gateway never applied version {self.version}")

    def payload(self) -> dict[str, Any]:
        keys = {sha(KEY_A): "pa", sha(KEY_B): "pb"}
        return {"version": self.version, "keys": keys, "deployments": self.deployments}

    def server_side(self, host: str) -> ServerSide | None:
        """How a replica host answers a connection (None: refused)."""
        if host.startswith("dead"):
            self.hits[host] += 1
            return None
        if host == "dropper":

            def dropper() -> Dropper:
                self.hits[host] += 1
                return Dropper()

            return dropper

        async def handle(request: Request) -> Response:
            return await self.replica(host, request)

        return HttpServer(handle).connection

    async def replica(self, host: str, raw: Request) -> Response:
        self.hits[host] += 1
        url = f"http://{host}{raw.target}"
        request = httpx.Request(raw.method, url, headers=raw.headers, content=raw.body)
        if host == "slow":
            await self.hang.wait()
        if host == "lag":  # answers like any replica, 50 ms later
            await asyncio.sleep(0.05)
        if host == "broken":
            return streamed(500, b'{"error": "user code raised"}', "application/json")
        if host == "huge":  # an answer far larger than the gateway takes
            return streamed(200, b"x" * (1 << 20), "application/octet-stream")
        if host == "meta":  # a replica's V2 metadata: no tensors of its own
            body = {"name": "iris", "versions": ["4"], "platform": "sklearn", "inputs": []}
            return streamed(200, json.dumps({**body, "outputs": []}).encode(), "application/json")
        stage = request.headers.get("x-shipyard-stage")
        if request.url.path == BUNDLE_PATH:
            return self.bundle(host, request)
        if host.startswith("t"):  # a transformer replica
            self.received.append(request)
            if host == "tbad":
                answer: Any = {"error": "preprocess rejected the input: bad"}
                return streamed(400, json.dumps(answer).encode(), "application/json")
            step = "instances" if stage == "preprocess" else "predictions"
            answer = {step: [stage[:-7] if stage else None, json.loads(request.content)]}
            return streamed(200, json.dumps(answer).encode(), "application/json")
        self.received.append(request)
        body = b'{"predictions":[1] ,  "by":"' + host.encode() + b'"}'
        return streamed(201, body, "application/x-test", x_replica=host)

    def bundle(self, host: str, request: httpx.Request) -> Response:
        """A replica's answer to a bundle: each part echoed (``old`` predates bundles)."""
        self.received.append(request)
        if host == "old":
            return streamed(
                404, b'{"error": "Not Found: POST /internal/bundle"}', "application/json"
            )
        answers = [
            Response(200, b'{"echo":%s,"by":"%s"}' % (part.body, host.encode()))
            for part in decode_requests(request.content)
        ]
        return streamed(200, encode_responses(answers), BUNDLE_TYPE.decode())

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """The control plane, behind an httpx MockTransport."""
        assert request.url.host == "control"
        if not self.reachable:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.control(request)

    async def control(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        if not self.control_up:
            return httpx.Response(503, json={"error": "down"})
        if request.url.path == "/internal/wake":
            self.wakes.append(json.loads(request.content))
            return httpx.Response(202, json={"status": "waking"})
        if request.url.path == "/internal/traffic":
            self.traffic.append(json.loads(request.content))
            return httpx.Response(204)
        self.applied = int(request.url.params["after"])
        if self.applied >= self.version:
            await asyncio.sleep(float(request.url.params["wait"]))
        return httpx.Response(200, json=self.payload())


@pytest.fixture
def world() -> World:
    return World(deployments=[deployment("iris", ["http://r1", "http://r2"])])


@contextlib.asynccontextmanager
async def open_gateway(world: World, **settings_kw: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        gateway_control_url="http://control",
        internal_token="tok",
        gateway_poll_wait_s=0.05,
        gateway_attempts=2,
        **settings_kw,
    )
    network = MemoryNetwork(world.server_side)
    app = create_app(settings, transport=httpx.MockTransport(world.handle), connect=network.connect)
    async with (
        app.running(),
        httpx.AsyncClient(transport=HandlerTransport(app.handle), base_url="http://gw") as client,
    ):
        yield client


@pytest.fixture
async def gateway(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with open_gateway(world) as client:
        await world.wait_applied()
        yield client
