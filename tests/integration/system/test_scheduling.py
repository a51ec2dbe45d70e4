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
    root = tmp_path_factory.mktemp("small-node")
    with own_server(root, SHIPYARD_NODE_MEMORY_MB="1000", SHIPYARD_NODE_CORES="2") as srv:
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
        created = deploy(api, "second", model, **big(model))
        said = created["status"]["message"]  # at once, before any reconcile pass
        assert "does not fit now: insufficient memory: requested 600 MiB, 400 MiB free" in said
        assert "in use by: first (1 replica, 0.2 cores, 600 MiB)" in said

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


def test_replicas_that_can_never_fit_together_are_refused_at_create_and_dry_run(
    small_node: Server, iris_dir: Path
) -> None:
    # the README's Fiddler line: 3 instances of 1.5 cores, here on a node of 2 cores
    with small_node.client() as api:
        model = upload(api, "iris", iris_dir)
        spec = {
            "name": "too-wide",
            "predictor": {
                "model_name": model["name"],
                "model_version": model["version"],
                "resources": {
                    "num_instances": 3,
                    "requests": {"cores": 1.5, "memory": 100},
                    "limits": {"cores": 1.5, "memory": 200},
                },
            },
        }
        for dry_run in (True, False):
            answer = api.post("/deployments", json={"spec": spec, "dry_run": dry_run})
            assert answer.status_code == 422, answer.text
            [error] = answer.json()["error"]["details"]["errors"]
            assert error["field"] == "predictor.resources.num_instances"
            assert "never run together (3 predictor x 1.5 cores)" in error["message"]
            assert "requested 4.5 cores, 2 in all on this node" in error["message"]
