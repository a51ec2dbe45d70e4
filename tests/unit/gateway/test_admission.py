"""The gateway judges a request on its head (auth first), and what the route entry adds:
the deployed version, the project's model list, V2 metadata tensors, the body bound."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from shipyard.gateway.app import GatewayApp, create_app
from shipyard.http1 import Head, Response
from shipyard.settings import GatewaySettings

from .test_app import AUTH_A, World, deployment, open_gateway

pytestmark = pytest.mark.unit

TENSORS = {
    "model_version": "4",
    "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
    "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
}


@pytest.fixture
def world() -> World:
    return World(deployments=[deployment("iris", ["http://r1", "http://r2"])])


def head(target: str, method: str = "POST", key: str | None = "key-of-a", **kw: Any) -> Head:
    headers = [(b"host", b"gw")]
    if key is not None:
        headers.append((b"authorization", f"ApiKey {key}".encode()))
    return Head(method, target, headers, True, kw.get("length", 10))


async def admitting(world: World) -> GatewayApp:
    settings = GatewaySettings(
        gateway_control_url="http://control", internal_token="tok", gateway_poll_wait_s=0.05
    )
    return create_app(settings, transport=httpx.MockTransport(world.handle))


async def test_a_model_call_is_judged_on_its_head_before_any_body(world: World) -> None:
    app = await admitting(world)
    refused = app.admit(head("/v1/models/iris:predict"))
    assert isinstance(refused, Response) and refused.status == 503  # no table yet
    async with app.running():
        await world.wait_applied()
        for target, key, status in [
            ("/v1/models/iris:predict", None, 401),
            ("/v1/models/iris:predict", "wrong", 401),
            ("/v1/models/nope:predict", "key-of-a", 404),
            ("/v2/models/iris/versions/9/infer", "key-of-a", None),  # no version published
        ]:
            verdict = app.admit(head(target, key=key))
            if status is None:
                assert verdict == 256 * 1024 * 1024
            else:
                assert isinstance(verdict, Response) and verdict.status == status
        world.publish([deployment("iris", ["http://r1"], max_body_bytes=4096, **TENSORS)])
        await world.wait_applied()
        assert app.admit(head("/v1/models/iris:predict")) == 4096
        wrong = app.admit(head("/v2/models/iris/versions/9/infer"))
        assert isinstance(wrong, Response) and wrong.status == 404
        assert app.admit(head("/v2/health/ready", "GET", key=None)) == 64 * 1024
        assert app.admit(head("/nothing", "GET", key=None)) == 64 * 1024


@pytest.mark.parametrize("version", ["99", "abc"])
async def test_v2_serves_only_the_deployed_version(world: World, version: str) -> None:
    world.publish([deployment("iris", ["http://r1"], **TENSORS)])
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.post(f"/v2/models/iris/versions/{version}/infer", json={}, headers=AUTH_A)
        assert r.status_code == 404
        assert r.json() == {
            "error": f"deployment 'iris' has no model version {version!r}: the version "
            "deployed is '4'"
        }
        ok = await gateway.post("/v2/models/iris/versions/4/infer", json={}, headers=AUTH_A)
        assert ok.status_code == 201
    assert world.hits == {"r1": 1}


async def test_v1_lists_the_models_of_the_keys_project_only(world: World) -> None:
    world.publish(
        [
            deployment("iris", ["http://r1"]),
            deployment("wine", []),
            deployment("secret", ["http://r2"], project="pb"),
        ]
    )
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.get("/v1/models", headers=AUTH_A)
        assert (r.status_code, r.json()) == (200, {"models": ["iris", "wine"]})
        assert (await gateway.get("/v1/models")).status_code == 401


async def test_v2_metadata_gets_the_routes_tensors_when_the_replica_lists_none(
    world: World,
) -> None:
    world.publish([deployment("iris", ["http://meta"], **TENSORS)])
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.get("/v2/models/iris", headers=AUTH_A)
    assert r.status_code == 200
    body = r.json()
    assert body["inputs"] == TENSORS["inputs"] and body["outputs"] == TENSORS["outputs"]
    assert body["name"] == "iris" and body["platform"] == "sklearn"


async def test_a_body_over_the_deployments_bound_is_413(world: World) -> None:
    world.publish([deployment("iris", ["http://r1"], max_body_bytes=1024)])
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.post("/v1/models/iris:predict", content=b"x" * 2000, headers=AUTH_A)
    assert r.status_code == 413
    assert r.json() == {"error": "request body larger than 1024 bytes for 'iris'"}
    assert world.hits == {}


async def test_nothing_is_held_for_a_cold_start_the_control_plane_cannot_make(world: World):
    world.publish([deployment("sleepy", [], state="IDLE", wakeable=True)])
    async with open_gateway(world, gateway_cold_start_timeout_s=30) as gateway:
        await world.wait_applied()
        world.reachable = False  # the control plane crashed: nobody can start a replica
        r = await asyncio.wait_for(
            gateway.post("/v1/models/sleepy:predict", json={}, headers=AUTH_A), 5
        )
        assert r.status_code == 503
        assert (
            "the control plane, which starts its replicas, cannot be reached" in r.json()["error"]
        )
        ok = await gateway.get("/v2/health/ready")
        assert ok.status_code == 200  # the gateway itself keeps serving its table
