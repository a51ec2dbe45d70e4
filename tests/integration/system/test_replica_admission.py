"""Only the gateway reaches a replica (issue 18, item 2), against a real server and replica:
its TCP port and Unix socket answer 401 to a request without its project's token (another
project's token included), the token file is gone once the replica started, and predictions
through the gateway still work."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.wire.replica_token import HEADER, project_token
from tests.integration.system.conftest import (
    Server,
    deploy,
    own_server,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration
TOKEN = HEADER.decode()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("admission")) as srv:
        yield srv


def test_a_replica_answers_only_its_projects_token(node: Server, iris_dir: Path) -> None:
    with node.client() as api:
        deploy(api, "guarded", upload(api, "iris", iris_dir))
        [replica] = wait_state(api, "guarded", "RUNNING")["replicas"]
    run = node.home / "run" / "replicas"
    handle = json.loads((run / f"{replica['id']}.json").read_text())
    secret = (node.home / "run" / "internal-token").read_text().strip()
    right = project_token(secret, handle["extra"]["project"]).decode()
    wrong = project_token(secret, "another-project").decode()
    assert not list(run.glob("*.token"))  # read and deleted by the runtime
    url, socket = replica["url"], handle["extra"].get("socket")
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    for headers in ({}, {TOKEN: wrong}, {TOKEN: right[:-1]}):
        answer = httpx.post(f"{url}/v1/models/guarded:predict", json=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert httpx.get(f"{url}/v2/health/ready", headers=headers).status_code == 401
        if socket:
            transport = httpx.HTTPTransport(uds=socket)
            with httpx.Client(transport=transport) as unix:
                refused = unix.post("http://replica/v1/models/guarded:predict", json=body)
                assert refused.status_code == 401
    answer = httpx.post(f"{url}/v1/models/guarded:predict", json=body, headers={TOKEN: right})
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == 1
    with httpx.Client(base_url=node.gateway, headers={"Authorization": f"ApiKey {node.key}"}) as gw:
        assert gw.post("/v1/models/guarded:predict", json=body).status_code == 200


def test_a_revoked_key_is_refused_by_the_gateway_within_seconds(node: Server) -> None:
    """Issue 18, item 3: the gateway drops a revoked key with the next routing table."""
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    with node.client() as api:
        made = api.post("/keys", json={"read_only": True}).json()
    key = made["api_key"]
    gateway = httpx.Client(base_url=node.gateway, headers={"Authorization": f"ApiKey {key}"})
    with gateway:
        wait_until(
            lambda: gateway.post("/v1/models/guarded:predict", json=body).status_code == 200,
            10,
            "the gateway to accept the new read-only key",
        )
        with node.client() as api:
            assert api.delete(f"/keys/{made['key']['id']}").status_code == 204
        revoked_at = time.monotonic()
        wait_until(
            lambda: gateway.post("/v1/models/guarded:predict", json=body).status_code == 401,
            10,
            "the gateway to refuse the revoked key",
        )
    assert time.monotonic() - revoked_at < 10


def test_replicas_adopted_with_an_old_token_are_replaced(node: Server) -> None:
    """The server's secret changed while it was down (``run/internal-token`` deleted): the
    replicas it adopts hold the old token and would refuse the new gateway, so they are
    replaced one slot at a time, and predictions work again through the new gateway."""
    body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    with node.client() as api:
        [before] = wait_state(api, "guarded", "RUNNING")["replicas"]
    handle = json.loads((node.home / "run" / "replicas" / f"{before['id']}.json").read_text())
    old_secret = (node.home / "run" / "internal-token").read_text().strip()
    node.crash()  # the server alone: its gateway and the replica live on
    (node.home / "run" / "internal-token").unlink()
    node.start()
    assert (node.home / "run" / "internal-token").read_text().strip() != old_secret

    def replaced() -> dict | None:
        with node.client() as api:
            status = state_of(api, "guarded")
        ids = [r["id"] for r in status["replicas"]]
        done = status["state"] == "RUNNING" and ids and before["id"] not in ids
        return status if done else None

    status = wait_until(replaced, 90, "the replica with the old token to be replaced")
    [after] = status["replicas"]
    assert after["pid"] != before["pid"]
    with httpx.Client(base_url=node.gateway, headers={"Authorization": f"ApiKey {node.key}"}) as gw:
        wait_until(
            lambda: gw.post("/v1/models/guarded:predict", json=body).status_code == 200,
            10,
            "the new gateway to route to the new replica",
        )
    old = {TOKEN: project_token(old_secret, handle["extra"]["project"]).decode()}
    refused = httpx.post(f"{after['url']}/v1/models/guarded:predict", json=body, headers=old)
    assert refused.status_code == 401  # the new replica holds the new token only
