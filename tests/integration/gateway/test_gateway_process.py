"""The gateway as a real process between a fake control plane and fake replicas (real sockets)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.fakes import (
    AUTH_A,
    AUTH_B,
    KEYS,
    TOKEN,
    DroppingReplica,
    FakeControl,
    FakeReplica,
    GatewayProcess,
    deployment,
    wait_until,
)

pytestmark = pytest.mark.integration

UNAUTHORIZED = {"error": "missing or invalid API key: send 'Authorization: ApiKey <key>'"}


def predict(client: httpx.Client, name: str = "iris", headers=AUTH_A) -> httpx.Response:
    return client.post(f"/v1/models/{name}:predict", json={"instances": [[1, 2]]}, headers=headers)


def test_health_and_server_metadata_need_no_key(client, routes):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2").json()["name"] == "shipyard"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "ApiKey not-a-key"}, {"Authorization": "Token x"}]
)
def test_missing_or_wrong_key_is_401(client, routes, headers):
    r = predict(client, headers=headers)
    assert (r.status_code, r.json()) == (401, UNAUTHORIZED)


def test_another_projects_deployment_is_404_never_401(client, routes, replicas):
    r = predict(client, "iris", headers=AUTH_B)
    assert (r.status_code, r.json()) == (404, {"error": "deployment 'iris' not found"})
    r = predict(client, "bonly", headers=AUTH_A)
    assert (r.status_code, r.json()) == (404, {"error": "deployment 'bonly' not found"})
    assert predict(client, "bonly", headers=AUTH_B).status_code == 200


def test_v1_paths_with_a_colon_are_parsed_and_forwarded(client, routes, replicas):
    r = client.get("/v1/models/iris", headers=AUTH_A)
    assert (r.status_code, r.json()) == (200, {"name": "iris", "ready": True})
    r = predict(client)
    assert r.status_code == 200
    assert r.json()["predictions"] == [0]
    assert {rep.last_target for rep in replicas} >= {"/v1/models/iris:predict"}
    assert client.get("/v1/models/iris:predict", headers=AUTH_A).status_code == 405


def test_sequential_requests_stay_on_one_replica_and_concurrent_ones_spread(
    client, routes, replicas
):
    answered_by = {predict(client).json()["replica"] for _ in range(6)}
    assert len(answered_by) == 1  # nothing in flight each time: the same warm replica

    def slow(_: int) -> str:
        r = httpx.post(
            f"{client.base_url}/v1/models/iris:predict",
            json={"instances": [[1, 2]]},
            headers={**AUTH_A, "x-delay-ms": "300"},
            timeout=10,
            trust_env=False,
        )
        assert r.status_code == 200
        return str(r.json()["replica"])

    with ThreadPoolExecutor(4) as pool:
        concurrent = set(pool.map(slow, range(4)))
    assert concurrent == {rep.name for rep in replicas}  # a busy replica gets no more


def test_body_and_answer_are_forwarded_byte_exact(client, routes, replicas):
    body = (
        b'{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1.50, 2e3]}],'
        b'\n "id":"\xc3\xa9"}'
    )
    r = client.post(
        "/v2/models/iris/versions/1/infer?trace=yes",
        content=body,
        headers={**AUTH_A, "content-type": "application/json; charset=utf-8", "x-req": "7"},
    )
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    replica = next(rep for rep in replicas if rep.name == r.headers["x-replica"])
    assert replica.last_body == body
    assert replica.last_target == "/v2/models/iris/versions/1/infer?trace=yes"
    assert replica.last_headers["x-req"] == "7"
    assert "authorization" not in replica.last_headers
    ready = client.get("/v2/models/iris/versions/1/ready", headers=AUTH_A)
    assert (ready.status_code, ready.json()) == (
        200,
        {"name": "iris/versions/1/ready", "ready": True},
    )


def test_stopped_deployment_is_503_with_its_state(client, routes):
    r = client.post("/v2/models/old/infer", json={}, headers=AUTH_A)
    assert r.status_code == 503
    assert r.json() == {
        "error": "deployment 'old' is not available: state STOPPED (stopped by the user)"
    }


def test_a_replica_shut_down_mid_traffic_causes_no_errors(client, routes, replicas):
    r1, _ = replicas
    r3 = FakeReplica("r3")
    r3.server.start()
    try:
        routes.publish([deployment("iris", [r3.url, r1.url])])
        routes.wait_applied()
        started, statuses = time.monotonic(), []
        for i in range(200):
            if i == 50:
                r3.server.stop()
                hits_when_stopped = r3.hits
            statuses.append(predict(client).status_code)
            assert time.monotonic() - started < 30
    finally:
        r3.server.stop()
    assert statuses == [200] * 200
    assert hits_when_stopped == 50  # first in table order: every sequential request
    assert r3.hits == hits_when_stopped


def test_a_replica_hanging_up_with_the_request_costs_that_request_only(client, routes, replicas):
    r1, _ = replicas
    dropper = DroppingReplica()
    dropper.start()
    try:
        routes.publish([deployment("iris", [dropper.url, r1.url])])
        routes.wait_applied()
        before = r1.hits
        first = predict(client)
        assert first.status_code == 502  # it reached a replica that died: never resent
        assert "closed the connection before answering" in first.json()["error"]
        assert r1.hits == before
        assert [predict(client).status_code for _ in range(50)] == [200] * 50  # ejected
    finally:
        dropper.stop()


def test_table_changes_are_picked_up_within_a_second(client, routes, replicas):
    r1, r2 = replicas
    routes.publish([deployment("iris", [r1.url])])
    assert routes.wait_applied(timeout=1.0) < 1.0
    before = r2.hits
    for _ in range(10):
        predict(client)
    assert r2.hits == before  # removed: no new requests
    routes.publish([deployment("iris", [r2.url, r1.url])])
    assert routes.wait_applied(timeout=1.0) < 1.0
    for _ in range(10):
        predict(client)
    assert r2.hits == before + 10  # added back, first in table order: every request


def test_a_control_plane_outage_keeps_the_last_table(client, routes):
    routes.available = False
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert predict(client).status_code == 200
    finally:
        routes.available = True
    routes.republish()
    routes.wait_applied(timeout=5.0)  # recovered within the bounded backoff
    assert client.get("/v2/health/ready").status_code == 200


def test_metrics_count_requests_per_deployment(client, routes):
    predict(client)
    assert client.get("/metrics").status_code == 401  # every project's figures: not for anyone
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert 'shipyard_gateway_requests_total{code="200",deployment="iris",project="proj-a"}' in text
    assert "shipyard_gateway_request_duration_seconds_bucket" in text
    assert f"shipyard_gateway_routing_table_version {float(routes.version)}" in text


def test_a_starting_gateway_listens_only_once_it_holds_a_table(tmp_path: Path, replicas):
    control = FakeControl(TOKEN, KEYS)
    control.available = False
    control.start()
    gateway = GatewayProcess(control.url, TOKEN, tmp_path / "gateway.log")
    try:
        gateway.start(wait=False)
        wait_until(lambda: control.applied == 0, 30, "the gateway's first poll")
        with httpx.Client(base_url=gateway.url, timeout=10, trust_env=False) as client:
            with pytest.raises(httpx.ConnectError):  # its siblings take the connections
                client.get("/v2/health/ready")
            control.publish([deployment("iris", [replicas[0].url])])
            control.available = True

            def ready() -> bool:
                try:
                    return client.get("/v2/health/ready").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(ready, 10, "ready")
            assert predict(client).status_code == 200
    finally:
        exit_code = gateway.stop()
        control.stop()
    log = gateway.log_path.read_text()
    assert exit_code == 0, log
    assert "Traceback" not in log
