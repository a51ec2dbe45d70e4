"""The gateway app in-process, in the world of :mod:`tests.unit.gateway.world`."""

from __future__ import annotations

import asyncio
import json

import pytest

from shipyard.wire.replica_token import project_token

from .world import AUTH_A, KEY_A, KEY_B, UNAUTHORIZED, deployment, gateway, open_gateway, world

pytestmark = pytest.mark.unit

__all__ = ["gateway", "world"]  # fixtures


async def test_before_the_first_table_inference_is_refused_and_not_ready(world):
    world.control_up = False
    async with open_gateway(world) as gateway:
        assert (await gateway.get("/v2/health/live")).json() == {"live": True}
        ready = await gateway.get("/v2/health/ready")
        assert (ready.status_code, ready.json()) == (503, {"ready": False})
        r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
        assert (r.status_code, r.json()) == (503, {"error": "gateway is starting"})
        world.control_up = True
        await world.wait_applied()
        assert (await gateway.get("/v2/health/ready")).json() == {"ready": True}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "ApiKey wrong"}, {"Authorization": f"Basic {KEY_A}"}]
)
async def test_missing_or_unknown_key_is_401(gateway, headers):
    r = await gateway.post("/v1/models/iris:predict", json={}, headers=headers)
    assert (r.status_code, r.json()) == (401, UNAUTHORIZED)


async def test_names_resolve_within_the_keys_project_only(gateway):
    r = await gateway.post(
        "/v1/models/iris:predict", json={}, headers={"Authorization": f"Bearer {KEY_B}"}
    )
    assert (r.status_code, r.json()) == (404, {"error": "deployment 'iris' not found"})
    r = await gateway.get("/v2/models/nope/ready", headers=AUTH_A)
    assert (r.status_code, r.json()) == (404, {"error": "deployment 'nope' not found"})


async def test_unknown_endpoints_are_404_json(gateway):
    r = await gateway.post("/v1/models/iris:explain", json={}, headers=AUTH_A)
    assert r.status_code == 404
    assert r.json() == {"error": "no such endpoint: POST /v1/models/iris:explain"}
    r = await gateway.get("/nothing/here")
    assert (r.status_code, r.json()) == (404, {"error": "no such endpoint: GET /nothing/here"})


async def test_stopped_deployment_is_503_with_its_state(world, gateway):
    world.publish(
        [*world.deployments, deployment("old", [], state="STOPPED", message="stopped by the user")]
    )
    await world.wait_applied()
    r = await gateway.post("/v2/models/old/infer", json={}, headers=AUTH_A)
    assert r.status_code == 503
    assert r.json() == {
        "error": "deployment 'old' is not available: state STOPPED (stopped by the user)"
    }


async def test_request_and_answer_are_forwarded_unchanged(world, gateway):
    body = b'{"inputs": [ {"name":"x","shape":[1],"datatype":"FP32","data":[1.50]} ]}'
    r = await gateway.post(
        "/v2/models/iris/versions/2/infer?trace=1&x=%2F",
        content=body,
        headers={**AUTH_A, "content-type": "application/json", "x-request-id": "abc"},
    )
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/x-test"
    assert r.content == b'{"predictions":[1] ,  "by":"r1"}'
    sent = world.received[-1]
    assert sent.content == body
    assert str(sent.url) == "http://r1/v2/models/iris/versions/2/infer?trace=1&x=%2F"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-request-id"] == "abc"
    assert "authorization" not in sent.headers


async def test_sequential_requests_stay_on_the_first_free_replica(world, gateway):
    for _ in range(6):
        r = await gateway.post("/v1/models/iris:predict", json={"instances": [1]}, headers=AUTH_A)
        assert r.status_code == 201
    assert world.hits == {"r1": 6}  # nothing in flight: the first in table order, kept warm


async def test_a_refused_connection_is_retried_elsewhere_and_ejected(world, gateway):
    world.publish([deployment("iris", ["http://dead", "http://r1"])])
    await world.wait_applied()
    for _ in range(5):
        r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
        assert r.status_code == 201
    assert world.hits == {"dead": 1, "r1": 5}


async def test_a_replica_dying_with_the_request_is_a_502_never_a_second_victim(world, gateway):
    world.publish([deployment("iris", ["http://dropper", "http://r1"])])
    await world.wait_applied()
    r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
    assert r.status_code == 502
    error = r.json()["error"]
    assert error.startswith("deployment 'iris': the replica holding this request closed")
    assert "not retried elsewhere" in error
    assert world.hits == {"dropper": 1}  # not resent to r1
    for _ in range(3):  # the dead replica is ejected: the next requests go elsewhere
        r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
        assert r.status_code == 201
    assert world.hits == {"dropper": 1, "r1": 3}


async def test_all_attempts_failing_is_502_naming_the_deployment(world, gateway):
    world.publish([deployment("iris", ["http://dead1", "http://dead2", "http://dead3"])])
    await world.wait_applied()
    r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
    assert r.status_code == 502
    assert r.json()["error"].startswith("deployment 'iris' is unreachable: 2 replica(s) tried")
    assert sum(world.hits.values()) == 2  # gateway_attempts


async def test_replica_errors_are_returned_as_is_without_retry(world, gateway):
    world.publish([deployment("iris", ["http://broken", "http://r1"])])
    await world.wait_applied()
    r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
    assert (r.status_code, r.json()) == (500, {"error": "user code raised"})
    assert world.hits == {"broken": 1}


async def test_a_replica_timeout_is_504(world):
    world.publish([deployment("iris", ["http://slow", "http://r1"])])
    async with open_gateway(world, gateway_upstream_timeout_s=0.2) as gateway:
        await world.wait_applied()
        r = await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
        world.hang.set()
    assert r.status_code == 504
    assert "deployment 'iris' did not answer in time" in r.json()["error"]
    assert world.hits == {"slow": 1}


async def test_server_metadata_and_metrics_need_no_key(gateway):
    await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
    await gateway.post("/v1/models/iris:predict", json={})
    meta = (await gateway.get("/v2")).json()
    assert meta["name"] == "shipyard"
    assert meta["extensions"] == []
    assert (await gateway.get("/metrics", headers=AUTH_A)).status_code == 401  # a project key
    text = (await gateway.get("/metrics", headers={"Authorization": "Bearer tok"})).text
    assert 'shipyard_gateway_requests_total{code="201",deployment="iris",project="pa"} 1.0' in text
    assert 'shipyard_gateway_requests_total{code="401",deployment="",project=""} 1.0' in text
    assert "shipyard_gateway_routing_table_version 1.0" in text
    assert json.loads((await gateway.get("/v2/health/live")).content) == {"live": True}


async def test_requests_for_a_deployment_at_zero_are_held_until_its_replica_is_ready(world):
    world.publish([deployment("sleepy", [], state="IDLE", wakeable=True)])
    async with open_gateway(world, gateway_cold_start_timeout_s=10) as gateway:
        await world.wait_applied()
        calls = [
            asyncio.create_task(gateway.post("/v1/models/sleepy:predict", json={}, headers=AUTH_A))
            for _ in range(5)
        ]
        for _ in range(200):
            if world.wakes:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert not any(c.done() for c in calls)  # held, not refused
        assert world.wakes == [{"project_id": "pa", "name": "sleepy"}]  # one wake for all
        world.publish([deployment("sleepy", ["http://r9"], state="STARTING", wakeable=True)])
        answers = await asyncio.gather(*calls)
    statuses = [a.status_code for a in answers]  # 201 alone, 200 each part of a bundle
    assert statuses[0] == 201 and set(statuses) <= {200, 201}
    assert {a.json()["by"] for a in answers} == {"r9"}


async def test_a_cold_start_that_takes_too_long_is_a_clear_503(world):
    world.publish([deployment("sleepy", [], state="IDLE", wakeable=True)])
    async with open_gateway(world, gateway_cold_start_timeout_s=0.3) as gateway:
        await world.wait_applied()
        r = await gateway.post("/v1/models/sleepy:predict", json={}, headers=AUTH_A)
    assert r.status_code == 503
    assert "did not get a ready replica within 0.3 s of a cold start" in r.json()["error"]


async def test_a_stopped_deployment_is_not_woken(world):
    world.publish([deployment("off", [], state="STOPPED", wakeable=False)])
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.post("/v1/models/off:predict", json={}, headers=AUTH_A)
    assert r.status_code == 503 and world.wakes == []


async def test_traffic_is_reported_to_the_control_plane(world):
    async with open_gateway(world, gateway_report_interval_s=0.02) as gateway:
        await world.wait_applied()
        for _ in range(3):
            await gateway.post("/v1/models/iris:predict", json={}, headers=AUTH_A)
        for _ in range(200):
            reports = [d for t in world.traffic for d in t["deployments"]]
            if any(d["requests"] == 3 and d["in_flight"] == 0 for d in reports):
                break
            await asyncio.sleep(0.01)
    last = next(d for d in reversed(reports) if d["name"] == "iris")
    assert (last["project_id"], last["requests"], last["in_flight"]) == ("pa", 3, 0)
    assert last["busy_s"] >= 0


async def test_a_transformer_deployment_goes_preprocess_predictor_postprocess(world):
    world.publish([deployment("t", ["http://r1"], transformer=["http://t1"], has_transformer=True)])
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.post("/v1/models/t:predict", json={"instances": [1]}, headers=AUTH_A)
    assert r.status_code == 200
    pre, predicted, post = world.received[-3:]
    assert (pre.url.host, pre.headers["x-shipyard-stage"]) == ("t1", "preprocess")
    assert json.loads(pre.content) == {"instances": [1]}
    assert predicted.url.host == "r1" and "x-shipyard-stage" not in predicted.headers
    assert json.loads(predicted.content) == {"instances": ["pre", {"instances": [1]}]}
    assert post.headers["x-shipyard-stage"] == "postprocess"
    assert post.content == b'{"predictions":[1] ,  "by":"r1"}'
    assert r.json() == {"predictions": ["post", {"predictions": [1], "by": "r1"}]}


async def test_errors_of_a_hop_name_their_component_and_keep_their_status(world):
    world.publish(
        [
            deployment("t", ["http://r1"], transformer=["http://tbad"], has_transformer=True),
            deployment("p", ["http://broken"], transformer=["http://t1"], has_transformer=True),
        ]
    )
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        bad_input = await gateway.post("/v1/models/t:predict", json={}, headers=AUTH_A)
        bad_model = await gateway.post("/v1/models/p:predict", json={}, headers=AUTH_A)
    assert bad_input.status_code == 400
    assert bad_input.json() == {"error": "transformer: preprocess rejected the input: bad"}
    assert bad_model.status_code == 500
    assert bad_model.json() == {"error": "predictor: user code raised"}


async def test_a_transformer_without_ready_replicas_is_not_available(world):
    world.publish([deployment("t", ["http://r1"], transformer=[], has_transformer=True)])
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        r = await gateway.post("/v1/models/t:predict", json={}, headers=AUTH_A)
    assert r.status_code == 503


async def test_replicas_get_their_projects_token_and_never_the_clients(world, gateway):
    """Issue 18, item 2: the gateway presents the project's replica token (HMAC of the internal
    token); a token sent by the client is dropped, not forwarded beside it."""
    forged = project_token("tok", "pb").decode()
    r = await gateway.post(
        "/v2/models/iris/infer",
        content=b"{}",
        headers={**AUTH_A, "x-shipyard-replica-token": forged},
    )
    assert r.status_code == 201
    sent = world.received[-1]
    assert sent.headers.get_list("x-shipyard-replica-token") == [
        project_token("tok", "pa").decode()
    ]
