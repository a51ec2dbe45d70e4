"""The data plane under harm, with a real server, gateway and replicas, under bounded load.

- ``kill -9`` of the control plane fails no prediction while it is down nor after it is back
  (the gateway, in its own session, keeps serving its last table; the next server adopts it);
- ``kill -9`` of one gateway worker fails only connections it held (its requests in flight and
  the connections the kernel had queued on its socket), each as a connection error;
- a poison request (a model that dies on one input) kills at most the replica it reached, is
  answered 502 naming the cause, and fails no other request, behind one gateway worker or two;
- the client's mistakes are 400s naming what was wrong, through the gateway.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import (
    Load,
    Server,
    deploy,
    own_server,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration

MODEL = """
import os


class Predictor:
    def predict(self, inputs):
        if inputs and inputs[0] and inputs[0][0] == -1:
            os._exit(9)  # a query of death: this input kills the process
        for row in inputs:
            if len(row) != 1:
                raise ValueError(f"each row needs 1 feature, got {len(row)}")
        return [row[0] for row in inputs]
"""
BODY = {"instances": [[1]]}


@contextlib.contextmanager
def poisonable(root: Path, workers: int) -> Iterator[Server]:
    """A server whose gateway has ``workers`` workers, serving three replicas of MODEL."""
    with own_server(root, SHIPYARD_GATEWAY_WORKERS=str(workers)) as srv:
        folder = root / "poisonable"
        folder.mkdir()
        (folder / "predictor.py").write_text(MODEL)
        with srv.client() as api:
            model = upload(api, "poisonable", folder, framework="python")
            deploy(api, "poisonable", model, instances=3, script_file="predictor.py")
            wait_state(api, "poisonable", "RUNNING")
        yield srv


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with poisonable(tmp_path_factory.mktemp("dataplane"), workers=2) as srv:
        yield srv


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same deployment behind a gateway of one worker."""
    with poisonable(tmp_path_factory.mktemp("dataplane-single"), workers=1) as srv:
        yield srv


def predict(server: Server, body: dict) -> httpx.Response:
    return httpx.post(
        f"{server.gateway}/v1/models/poisonable:predict",
        json=body,
        headers={"Authorization": f"ApiKey {server.key}"},
        timeout=60,
    )


def replicas(server: Server) -> list[dict]:
    with server.client() as api:
        status = api.get("/deployments/poisonable").json()["status"]
    return [r for r in status["replicas"] if r["component"] == "predictor"]


def ready_replicas(server: Server) -> int:
    return sum(1 for r in replicas(server) if r["phase"] == "READY")


def pids(server: Server) -> set[int]:
    return {r["pid"] for r in replicas(server) if r["phase"] == "READY"}


def test_kill_9_of_the_control_plane_fails_no_prediction(node: Server) -> None:
    workers = node.gateway_workers()
    assert len(workers) == 2
    with Load(node, "poisonable", BODY, workers=2) as load:
        wait_until(lambda: load.ok > 20, 30, "load to run")
        node.crash()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{node.api}/healthz", timeout=2)
        served_before = load.ok
        wait_until(lambda: load.ok > served_before + 50, 30, "predictions while it is down")
        node.start()  # waits for the API and a ready gateway
        assert node.gateway_workers() == workers  # adopted, not restarted
        back = load.ok
        wait_until(lambda: load.ok > back + 50, 30, "predictions after it is back")
    assert load.failures == []


CONNECTION_ERRORS = ("ReadError(", "RemoteProtocolError(", "ConnectError(", "WriteError(")


def test_kill_9_of_one_gateway_worker_fails_only_the_connections_it_held(node: Server) -> None:
    """Each load thread can lose its request in flight on the killed worker, and then the one
    connection it made again if the kernel queued that on the dying worker's socket before
    the socket closed (``SO_REUSEPORT`` without ``tcp_migrate_req``: see docs/contracts.md);
    never an answer, never more."""
    first, second = node.gateway_workers()
    with Load(node, "poisonable", BODY, workers=2) as load:
        wait_until(lambda: load.ok > 20, 30, "load to run")
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(node.gateway_workers()) == 2, 30, "the worker to be replaced")
        after = load.ok
        wait_until(lambda: load.ok > after + 50, 30, "predictions after the replacement")
    assert len(load.failures) <= 2 * 2, load.failures  # 2 load threads
    assert all(f.startswith(CONNECTION_ERRORS) for f in load.failures), load.failures
    assert second in node.gateway_workers() and first not in node.gateway_workers()


def test_a_worker_replaced_while_the_control_plane_is_down_serves_its_siblings_table(
    node: Server,
) -> None:
    wait_until(lambda: len(node.listening_workers()) == 2, 30, "both workers listening")
    first, second = node.gateway_workers()
    node.crash()
    try:
        os.kill(first, signal.SIGKILL)

        def replaced() -> bool:
            listening = node.listening_workers()
            return len(listening) == 2 and first not in listening

        wait_until(replaced, 30, "the replacement to listen without the control plane")
        replacement = next(pid for pid in node.gateway_workers() if pid != second)
        for i in range(40):  # new connections: the kernel spreads them over both workers
            answer = predict(node, {"instances": [[i]]})
            assert (answer.status_code, answer.json()) == (200, {"predictions": [i]})
        log = node.log_text()
        assert replacement and "began with the shared routing table" in log
    finally:
        node.start()


def poison_under_load(server: Server) -> tuple[Load, str]:
    """One poison request while two threads predict; the load and the poison's error."""
    wait_until(lambda: ready_replicas(server) == 3, 60, "three ready replicas")
    before = pids(server)
    with Load(server, "poisonable", BODY, workers=2) as load:
        wait_until(lambda: load.ok > 20, 30, "load to run")
        poisoned = predict(server, {"instances": [[-1]]})
        assert poisoned.status_code == 502
        error = poisoned.json()["error"]
        assert "closed the connection before answering" in error
        assert "not retried elsewhere" in error
        after = load.ok
        wait_until(lambda: load.ok > after + 50, 30, "predictions after the poison")
    wait_until(lambda: before - pids(server), 60, "the controller to see the victim go")
    wait_until(lambda: ready_replicas(server) == 3, 60, "the dead replica to be restarted")
    assert len(before - pids(server)) == 1  # one victim, never a second
    return load, error


def test_a_poison_request_kills_one_replica_and_fails_no_other_request(single: Server) -> None:
    load, _ = poison_under_load(single)  # one gateway worker: its picker sees all the load
    assert load.failures == []


def test_with_several_workers_a_poison_still_fails_no_other_request(node: Server) -> None:
    # the workers pick under one lock over their shared counts of requests in flight
    # (gateway/shared.py), so no load request is sent to the replica the poison holds
    load, _ = poison_under_load(node)
    assert load.failures == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"instances": [[1], [2, 3]]}, "each row needs 1 feature, got 2"),
        ({"instances": {"not": "rows"}}, "the model rejected the input"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [300]}]},
         "element 0 (300) is not a valid INT8"),
        ({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]},
         "shape [2] needs 2 elements, got 1"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]},
         "numbers only"),
    ],
)  # fmt: skip
def test_the_clients_mistakes_are_400s_naming_what_was_wrong(
    node: Server, body: dict, named: str
) -> None:
    path = "/v2/models/poisonable/infer" if "inputs" in body else "/v1/models/poisonable:predict"
    answer = httpx.post(
        f"{node.gateway}{path}",
        json=body,
        headers={"Authorization": f"ApiKey {node.key}"},
        timeout=60,
    )
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["error"]
