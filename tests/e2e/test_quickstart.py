"""The README's first command, run as a new user would (fresh data directory, free ports)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_quickstart_deploys_the_example_and_prints_predictions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    api, gateway = free_port(), free_port()
    env.update(
        SHIPYARD_HOME=str(tmp_path / "home"),
        SHIPYARD_API_PORT=str(api),
        SHIPYARD_GATEWAY_PORT=str(gateway),
        SHIPYARD_QUICKSTART_EXIT="1",
    )
    proc = subprocess.Popen(
        ["bash", "scripts/quickstart.sh"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"quickstart did not finish:\n{out}")
    assert proc.returncode == 0, out
    assert "V1 prediction for" in out and "[1, 1, 0]" in out, out
    assert "V2 prediction: [1, 1, 0]" in out, out
    assert f"http://127.0.0.1:{api}/docs" in out
    assert f"http://127.0.0.1:{gateway}/v1/models/iris:predict" in out
    key_file = tmp_path / "home" / "api-key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    leftovers = list((tmp_path / "home" / "run" / "replicas").glob("*.json"))
    assert leftovers == []  # a clean server exit stops its replicas


def run_quickstart(env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "scripts/quickstart.sh"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    return out


def test_running_the_quickstart_again_leaves_existing_deployments_alone(tmp_path: Path) -> None:
    from tests.integration.system.conftest import own_server

    with own_server(tmp_path) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(
            SHIPYARD_HOME=str(server.home),
            SHIPYARD_API_PORT=str(server.api_port),
            SHIPYARD_GATEWAY_PORT=str(server.gateway_port),
            SHIPYARD_GATEWAY_GRPC_PORT=str(server.grpc_port),
        )
        first = run_quickstart(env)
        assert "a Shipyard server already runs" in first
        assert "V2 prediction: [1, 1, 0]" in first
        with server.client() as api:
            revision = api.get("/deployments/iris").json()["revision"]

        again = run_quickstart(env)  # the running iris deployment is used as it is
        assert "deployment iris already runs revision" in again, again
        assert "V2 prediction: [1, 1, 0]" in again
        with server.client() as api:
            assert api.get("/deployments/iris").json()["revision"] == revision
            assert api.post("/deployments/iris/stop").status_code == 200

        third = run_quickstart(env)  # a stopped iris is the user's: deploy beside it
        assert "a deployment 'iris' exists (STOP" in third, third
        assert f"http://127.0.0.1:{server.gateway_port}/v1/models/iris-2:predict" in third
        assert "V2 prediction: [1, 1, 0]" in third
        with server.client() as api:
            kept = api.get("/deployments/iris").json()
            assert (kept["active"], kept["revision"]) == (False, revision)
            assert api.get("/deployments/iris-2").json()["status"]["state"] == "RUNNING"
