"""Scaling a running deployment under load: no request may fail, ever.

Each test runs a bounded load loop through the gateway while the deployment changes, and
counts every non-2xx answer and every connection error: the count must be zero.
"""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import (
    SAMPLES,
    Load,
    Server,
    deploy,
    own_server,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration

BODY = {"instances": SAMPLES}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("lifecycle")) as srv:
        yield srv


@pytest.fixture(scope="module")
def iris_model(node: Server, iris_dir: Path) -> dict:
    with node.client() as api:
        return upload(api, "iris", iris_dir)


def update(api: httpx.Client, name: str, **predictor) -> dict:
    spec = api.get(f"/deployments/{name}").json()["spec"]
    for key, value in predictor.items():
        spec["predictor"][key] = value
    answer = api.put(f"/deployments/{name}", json={"spec": spec})
    assert answer.status_code == 200, answer.text
    return answer.json()


def settled(api: httpx.Client, name: str, instances: int, revision: int, timeout: float = 90):
    """RUNNING at ``revision`` with exactly ``instances`` ready replicas, none left over."""

    def check():
        status = state_of(api, name)
        live = [r for r in status["replicas"] if r["phase"] in ("STARTING", "READY", "STOPPING")]
        done = (
            status["state"] == "RUNNING"
            and status["observed_revision"] == revision
            and len(live) == instances
            and all(r["phase"] == "READY" for r in live)
        )
        return status if done else None

    return wait_until(check, timeout, f"{name} to run {instances} replicas of revision {revision}")


def resources(instances: int, memory_limit: int = 1024) -> dict:
    return {
        "num_instances": instances,
        "requests": {"cores": 0.1, "memory": 64, "gpus": 0},
        "limits": {"cores": 1.0, "memory": memory_limit, "gpus": 0},
    }


def test_scaling_out_and_in_drops_no_request(node: Server, iris_model: dict) -> None:
    with node.client() as api:
        deploy(api, "scale", iris_model, script_file="predictor.py")
        wait_state(api, "scale", "RUNNING")
        with Load(node, "scale", BODY) as load:
            update(api, "scale", resources=resources(3))
            first = settled(api, "scale", 3, revision=2)
            update(api, "scale", resources=resources(1))
            last = settled(api, "scale", 1, revision=3)
        kept = {r["pid"] for r in first["replicas"] if r["phase"] == "READY"}
        assert {r["pid"] for r in last["replicas"] if r["phase"] == "READY"} <= kept  # in place
        assert load.failures == [], load.failures[:5]
        assert load.ok > 50


def test_a_vertical_update_rolls_out_replica_by_replica(node: Server, iris_model: dict) -> None:
    with node.client() as api:
        deploy(api, "vertical", iris_model, instances=2, script_file="predictor.py")
        wait_state(api, "vertical", "RUNNING")
        seen_live: list[int] = []
        with Load(node, "vertical", BODY) as load:
            update(api, "vertical", resources=resources(2, memory_limit=512))

            def rolled():
                status = state_of(api, "vertical")
                live = [r for r in status["replicas"] if r["phase"] in ("STARTING", "READY")]
                seen_live.append(len(live))
                done = (
                    status["state"] == "RUNNING"
                    and len(live) == 2
                    and all(r["revision"] == 2 and r["phase"] == "READY" for r in live)
                )
                return status if done else None

            wait_until(rolled, 90, "the rollout")
        assert load.failures == [], load.failures[:5]
        # one surge replica at a time beside the two serving ones (draining ones not counted)
        assert max(seen_live) <= 3
        status = state_of(api, "vertical")
        ready = [r for r in status["replicas"] if r["phase"] == "READY"]  # old ones may drain
        assert {r["usage"]["limits"]["memory"] for r in ready if r["usage"]} == {512}


def test_a_rollout_whose_replicas_crash_keeps_the_old_ones_serving(
    node: Server, iris_model: dict, crashing_dir: Path
) -> None:
    with node.client() as api:
        deploy(api, "doomed", iris_model, instances=2, script_file="predictor.py")
        wait_state(api, "doomed", "RUNNING")
        broken = upload(api, "iris", crashing_dir, framework="python")
        with Load(node, "doomed", BODY) as load:
            update(api, "doomed", model_version=broken["version"])
            status = wait_state(api, "doomed", "FAILED", timeout=90)
        assert load.failures == [], load.failures[:5]
        assert status["message"].startswith("rollout stopped")
        assert "weights file is corrupt" in status["message"] or "exit" in status["message"]
        assert "previous revision keeps serving (2 replicas)" in status["message"]
        new = {r["slot"] for r in status["replicas"] if r["revision"] == 2}
        assert new <= {0}  # the rollout never went past its first slot


def test_scale_to_zero_wakes_on_a_burst_and_goes_back_to_zero(
    node: Server, iris_model: dict
) -> None:
    scaling = {
        "min_instances": 0,
        "max_instances": 1,
        "stable_window_s": 2.0,
        "panic_window_s": 1.0,
        "scale_to_zero_after_s": 3.0,
    }
    with node.client() as api:
        deploy(api, "sleepy", iris_model, instances=0, script_file="predictor.py", scaling=scaling)
        idle = wait_state(api, "sleepy", "IDLE", timeout=30)
        assert not [r for r in idle["replicas"] if r["phase"] != "EXITED"]
        for wake in range(2):  # woken, back to zero, woken again
            with concurrent.futures.ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(lambda _: _predict(node, "sleepy"), range(12)))
            assert [a.status_code for a in answers] == [200] * 12, answers[0].text
            assert len({a.text for a in answers}) == 1
            running = state_of(api, "sleepy")
            started = [r for r in running["replicas"] if r["phase"] == "READY"]
            assert len(started) == 1  # every held request waited for the same replica
            if wake:  # a zygote started once the first replica of its kind was ready: forked
                assert _started_by(node, [r["id"] for r in started]) == {"zygote"}
            idle = wait_state(api, "sleepy", "IDLE", timeout=30)
            assert any("scaled to zero" in note for note in idle["notes"])


def _started_by(node: Server, replica_ids: list[str]) -> set[str]:
    """How these replicas were started: as a new process, or forked by a zygote."""
    handles = [node.home / "run" / "replicas" / f"{rid}.json" for rid in replica_ids]
    return {json.loads(p.read_text())["extra"].get("started_by") for p in handles}


def _predict(node: Server, name: str) -> httpx.Response:
    return httpx.post(
        f"{node.gateway}/v1/models/{name}:predict",
        json=BODY,
        headers={"Authorization": f"ApiKey {node.key}"},
        timeout=60,
    )
