"""Several gateway processes on one port: all serve, metrics add up, a dead one comes back."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import Server, deploy, own_server, upload, wait_state

pytestmark = pytest.mark.integration

ECHO = """
class Predictor:
    def predict(self, inputs):
        return [row[0] for row in inputs]
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("workers"), SHIPYARD_GATEWAY_WORKERS="2") as srv:
        yield srv


def gateway_pids(server: Server) -> list[int]:
    assert server.proc is not None
    return server.gateway_workers()


def requests_counted(server: Server, name: str) -> float:
    token = (server.home / "run" / "internal-token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    text = httpx.get(f"{server.gateway}/metrics", headers=auth, timeout=10).text
    pattern = rf'shipyard_gateway_requests_total{{[^}}]*deployment="{name}"[^}}]*}} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


def predict_on_new_connections(server: Server, name: str, count: int) -> None:
    for i in range(count):
        with httpx.Client(timeout=30) as client:  # a new connection each: spread by the kernel
            answer = client.post(
                f"{server.gateway}/v1/models/{name}:predict",
                json={"instances": [[i]]},
                headers={"Authorization": f"ApiKey {server.key}"},
            )
        assert (answer.status_code, answer.json()) == (200, {"predictions": [i]}), answer.text


def test_both_gateways_serve_and_metrics_count_every_request(node: Server, tmp_path: Path) -> None:
    assert len(gateway_pids(node)) == 2
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "predictor.py").write_text(ECHO)
    with node.client() as api:
        model = upload(api, "echo", folder, framework="python")
        deploy(api, "echo", model, script_file="predictor.py")
        wait_state(api, "echo", "RUNNING")
    predict_on_new_connections(node, "echo", 40)
    counted_by = sorted((node.home / "run" / "gateway-metrics").glob("counter_*.db"))
    assert len(counted_by) == 2  # both processes answered some of them
    for _ in range(5):  # whichever process answers /metrics, it reports both
        assert requests_counted(node, "echo") == 40

    first, second = gateway_pids(node)
    subprocess.run(["kill", "-KILL", str(first)], check=True)
    predict_on_new_connections(node, "echo", 10)  # the other one serves meanwhile
    deadline = time.monotonic() + 30
    while len(gateway_pids(node)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = gateway_pids(node)
    assert len(pids) == 2 and first not in pids and second in pids
    assert requests_counted(node, "echo") == 50  # the dead one's counts are kept
