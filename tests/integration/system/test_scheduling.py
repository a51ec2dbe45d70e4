"""Honest scheduling on the local node: requests must fit in what is free (real server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def small_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("small-node"), SHIPYARD_NODE_MEMORY_MB="1000") as srv:
        yield srv


def big(model: dict) -> dict:
    return {
        "script_file": "predictor.py",
        "resources": {
            "num_instances": 1,
            "requests": {"cores": 0.2, "memory": 600},
            "limits": {"cores": 1, "memory": 800},
        },
    }


def test_a_deployment_that_does_not_fit_waits_then_starts_when_another_stops(
    small_node: Server, iris_dir: Path
) -> None:
    with small_node.client() as api:
        model = upload(api, "iris", iris_dir)
        deploy(api, "first", model, **big(model))
        wait_state(api, "first", "RUNNING")
        deploy(api, "second", model, **big(model))

        def unscheduled():
            status = state_of(api, "second")
            cond = next((c for c in status["conditions"] if c["type"] == "SCHEDULED"), None)
            return status if cond and cond["status"] == "False" else None

        status = wait_until(unscheduled, 30, "second to be unschedulable")
        scheduled = next(c for c in status["conditions"] if c["type"] == "SCHEDULED")
        assert scheduled["reason"] == "Unschedulable"
        assert "insufficient memory: requested 600 MiB, 400 MiB free" in scheduled["message"]
        assert status["state"] == "STARTING" and status["replicas"] == []

        api.post("/deployments/first/stop").raise_for_status()
        wait_state(api, "first", "STOPPED")
        status = wait_state(api, "second", "RUNNING", timeout=60)
        assert next(c for c in status["conditions"] if c["type"] == "SCHEDULED")["status"] == "True"
