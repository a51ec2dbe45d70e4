"""Two servers on one data directory: the second refuses to start, the first keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.system.conftest import (
    SAMPLES,
    Load,
    Server,
    deploy,
    own_server,
    upload,
    wait_state,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("home-lock")) as srv:
        yield srv


def test_a_second_server_on_the_same_home_refuses_and_the_first_keeps_serving(
    first: Server, iris_dir: Path
) -> None:
    with first.client() as api:
        model = upload(api, "iris", iris_dir)
        deploy(api, "iris", model, instances=2, script_file="predictor.py")
        wait_state(api, "iris", "RUNNING")
    second = Server(home=first.home, database_url=None)  # other ports, same data directory
    assert (second.api_port, second.gateway_port) != (first.api_port, first.gateway_port)
    with Load(first, "iris", {"instances": SAMPLES}, workers=2, max_s=90) as load:
        done = subprocess.run(
            [sys.executable, "-m", "shipyard", "server"],
            env=second.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        # the first server's replicas were not adopted, nor stopped when the second exited
        with first.client() as api:
            status = wait_state(api, "iris", "RUNNING")
    assert done.returncode == 1, done.stdout + done.stderr
    message = done.stderr
    assert f"the data directory {first.home} is in use by another Shipyard server" in message
    assert f"pid {first.proc.pid}" in message  # type: ignore[union-attr]
    assert f"API 127.0.0.1:{first.api_port}" in message
    assert f"gateway 127.0.0.1:{first.gateway_port}" in message
    assert load.ok > 0
    assert load.failures == []
    assert status["available_instances"] == {"predictor": 2}
    holder = json.loads((first.home / "server.lock").read_text())
    assert holder["pid"] == first.proc.pid  # type: ignore[union-attr]


def test_the_lock_goes_with_the_server(tmp_path: Path) -> None:
    home_root = tmp_path / "again"
    with own_server(home_root):
        pass
    # a clean exit released it: a new server starts on the same data directory
    with own_server(home_root) as srv:
        assert json.loads((srv.home / "server.lock").read_text())["pid"] == srv.proc.pid  # type: ignore[union-attr]
