"""A failed deployment recovers once fixed: FAILED clears after an update, a rollback, or a stop,
update and start (issue 15, bug 1), against a real server and real replicas.

The model allocates about 150 MiB while it loads: OOM-killed at a 64 MiB limit, fine at 512.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.wire.replica_token import HEADER, project_token
from tests.integration.system.conftest import Server, own_server, state_of, upload, wait_until

pytestmark = pytest.mark.integration

LOAD_150_MIB = """
class Predictor:
    def __init__(self):
        self.block = bytearray(150 * 1024 * 1024)
        self.block[::4096] = b"x" * len(self.block[::4096])
    def predict(self, inputs):
        return [len(self.block)]
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("recovery")) as srv:
        yield srv


@pytest.fixture(scope="module")
def model(node: Server, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("load150")
    (folder / "predictor.py").write_text(LOAD_150_MIB)
    with node.client() as api:
        return upload(api, "load150", Path(folder), framework="python")


def spec(name: str, model: dict, memory: int) -> dict:
    resources = {
        "num_instances": 1,
        "requests": {"cores": 0.1, "memory": 64, "gpus": 0},
        "limits": {"cores": 1, "memory": memory, "gpus": 0},
    }
    predictor = {
        "model_name": model["name"],
        "model_version": model["version"],
        "script_file": "predictor.py",
        "resources": resources,
    }
    return {"name": name, "predictor": predictor}


def at(api: httpx.Client, name: str, state: str, revision: int) -> dict:
    """Wait for a status computed for ``revision`` in ``state``."""

    def check() -> dict | None:
        status = state_of(api, name)
        current = status["observed_revision"] == revision and status["state"] == state
        return status if current else None

    found: dict = wait_until(check, 120, f"{name} {state} at revision {revision}", step=0.2)
    return found


def stays_running(node: Server, api: httpx.Client, name: str, passes: int = 5) -> dict:
    """Still RUNNING after ``passes`` more reconcile passes (none turns it FAILED again)."""
    start = httpx.get(f"{node.api}/healthz").json()["reconcile_passes"]
    wait_until(
        lambda: httpx.get(f"{node.api}/healthz").json()["reconcile_passes"] >= start + passes,
        30,
        f"{passes} reconcile passes",
    )
    status = state_of(api, name)
    assert status["state"] == "RUNNING", status
    [ready] = [r for r in status["replicas"] if r["phase"] == "READY"]
    return dict(ready)


def test_an_oom_killed_deployment_runs_once_updated_to_enough_memory(node: Server, model) -> None:
    with node.client() as api:
        api.post("/deployments", json={"spec": spec("oom-fix", model, 64)}).raise_for_status()
        failed = at(api, "oom-fix", "FAILED", 1)
        assert "OOMKilled" in failed["message"]
        assert "previous revision keeps serving" not in failed["message"]
        answer = api.put("/deployments/oom-fix", json={"spec": spec("oom-fix", model, 512)})
        assert answer.status_code == 200, answer.text
        at(api, "oom-fix", "RUNNING", 2)
        assert stays_running(node, api, "oom-fix")["revision"] == 2


def test_a_rollback_of_a_failed_rollout_runs_again(node: Server, model) -> None:
    with node.client() as api:
        api.post("/deployments", json={"spec": spec("oom-back", model, 512)}).raise_for_status()
        [serving] = at(api, "oom-back", "RUNNING", 1)["replicas"]
        api.put("/deployments/oom-back", json={"spec": spec("oom-back", model, 64)})
        failed = at(api, "oom-back", "FAILED", 2)
        assert "rollout stopped" in failed["message"]
        assert "previous revision keeps serving (1 replicas)" in failed["message"]
        answer = api.post("/deployments/oom-back/rollback", json={"revision": 1})
        assert answer.status_code == 200, answer.text
        at(api, "oom-back", "RUNNING", 3)
        assert stays_running(node, api, "oom-back")["id"] == serving["id"]  # it never stopped


def test_a_failed_deployment_stopped_fixed_and_started_runs(node: Server, model) -> None:
    with node.client() as api:
        api.post("/deployments", json={"spec": spec("oom-stop", model, 64)}).raise_for_status()
        at(api, "oom-stop", "FAILED", 1)
        api.post("/deployments/oom-stop/stop").raise_for_status()
        at(api, "oom-stop", "STOPPED", 1)
        api.put("/deployments/oom-stop", json={"spec": spec("oom-stop", model, 512)})
        stopped = at(api, "oom-stop", "STOPPED", 2)
        assert stopped["replicas"] == []
        api.post("/deployments/oom-stop/start").raise_for_status()
        at(api, "oom-stop", "RUNNING", 2)
        assert stays_running(node, api, "oom-stop")["revision"] == 2


def test_each_replica_shows_the_limits_it_runs_with_through_a_rollout(node: Server, model) -> None:
    """Issue 15, bug 4: an old replica mid-rollout shows its own cgroup's limits, not the new
    spec's; ``ready_at`` is filled."""
    first = spec("limits-shown", model, 512)
    first["predictor"]["resources"]["limits"]["cores"] = 0.25
    second = spec("limits-shown", model, 512)
    second["predictor"]["resources"]["limits"]["cores"] = 1.5
    wanted = {1: 0.25, 2: 1.5}
    seen: list[tuple[int, float]] = []

    def check(revision: int):
        status = state_of(api, "limits-shown")
        for replica in status["replicas"]:
            usage = replica["usage"]
            if usage and usage["limits"] and usage["enforcement"].startswith("cgroup"):
                seen.append((replica["revision"], usage["limits"]["cores"]))
        ready = [r for r in status["replicas"] if r["phase"] == "READY"]
        done = status["state"] == "RUNNING" and status["observed_revision"] == revision
        return status if done and [r["revision"] for r in ready] == [revision] else None

    with node.client() as api:
        api.post("/deployments", json={"spec": first}).raise_for_status()
        running = wait_until(lambda: check(1), 120, "revision 1 running", step=0.1)
        [replica] = running["replicas"]
        assert replica["ready_at"] is not None and replica["ready_at"] >= replica["started_at"]
        api.put("/deployments/limits-shown", json={"spec": second}).raise_for_status()
        wait_until(lambda: check(2), 120, "revision 2 running alone", step=0.1)
    assert {revision for revision, _ in seen} == {1, 2}, seen
    assert all(cores == wanted[revision] for revision, cores in seen), seen


def test_a_models_load_error_shows_in_the_status(node: Server, crashing_dir: Path) -> None:
    """Issue 15, item 12: the exception line, not only "see the log"."""
    with node.client() as api:
        model = upload(api, "broken", crashing_dir, framework="python")
        predictor = {
            "model_name": model["name"],
            "model_version": model["version"],
            "script_file": "predictor.py",
        }
        api.post("/deployments", json={"spec": {"name": "broken", "predictor": predictor}})
        failed = at(api, "broken", "FAILED", 1)
        assert (
            "the model failed to load: RuntimeError: weights file is corrupt" in (failed["message"])
        )
        exits = [r["last_exit"] for r in failed["replicas"] if r["last_exit"]]
        assert all("RuntimeError: weights file is corrupt" in e["message"] for e in exits)


def test_the_log_of_an_oom_killed_replica_ends_saying_so(node: Server, model) -> None:
    """Issue 15, item 12: the replica's own log says why it ended."""
    with node.client() as api:
        api.post("/deployments", json={"spec": spec("oom-log", model, 64)}).raise_for_status()
        at(api, "oom-log", "FAILED", 1)
        lines = api.get("/deployments/oom-log/logs", params={"tail": 5}).json()["lines"]
        last: dict[str, str] = {}
        for line in lines:
            last[line["replica"]] = line["line"]
        killed = [text for text in last.values() if text.startswith("shipyard: replica killed")]
        assert killed, lines
        assert "(OOMKilled): memory limit 64 MiB exceeded (peak" in killed[0]


def test_a_limit_below_what_the_model_needs_holds_even_when_replicas_are_forked(
    node: Server, iris_dir: Path
) -> None:
    """Issue 15, item 6: a replica forked from a pre-imported parent would not be charged for
    the shared libraries; one limited below its kind's footprint is started whole instead."""
    with node.client() as api:
        iris = upload(api, "iris-fork", iris_dir)

        def iris_spec(name: str, memory: int) -> dict:
            resources = {
                "num_instances": 1,
                "requests": {"cores": 0.1, "memory": min(memory, 64), "gpus": 0},
                "limits": {"cores": 1, "memory": memory, "gpus": 0},
            }
            predictor = {"model_name": iris["name"], "model_version": iris["version"]}
            return {"name": name, "predictor": {**predictor, "resources": resources}}

        api.post("/deployments", json={"spec": iris_spec("iris-whole", 512)}).raise_for_status()
        at(api, "iris-whole", "RUNNING", 1)
        zygotes = node.home / "run" / "zygotes"
        wait_until(lambda: list(zygotes.glob("*.sock")), 60, "the scikit-learn zygote")
        api.post("/deployments", json={"spec": iris_spec("iris-tiny", 20)}).raise_for_status()
        failed = at(api, "iris-tiny", "FAILED", 1)
        assert (
            "OOMKilled" in failed["message"]
            and "memory limit 20 MiB exceeded" in (failed["message"])
        )


def test_a_replica_binds_its_own_port_and_reports_it(node: Server, model) -> None:
    """Issue 16, item 6: no free-port race; the replica binds port 0 and writes what it got."""
    with node.client() as api:
        api.post("/deployments", json={"spec": spec("own-port", model, 512)}).raise_for_status()
        [replica] = at(api, "own-port", "RUNNING", 1)["replicas"]
        host, port = replica["url"].removeprefix("http://").split(":")
        assert host == "127.0.0.1" and int(port) > 0
        handle = json.loads((node.home / "run" / "replicas" / f"{replica['id']}.json").read_text())
        secret = (node.home / "run" / "internal-token").read_text().strip()
        token = project_token(secret, handle["extra"]["project"]).decode()
        ready = httpx.get(f"{replica['url']}/v2/health/ready", headers={HEADER.decode(): token})
        assert ready.status_code == 200
        assert handle["url"] == replica["url"]  # for adoption
        api.delete("/deployments/own-port").raise_for_status()


def test_pass_durations_and_caught_errors_are_metrics(node: Server) -> None:
    answer = httpx.get(f"{node.api}/metrics", headers={"Authorization": f"Bearer {node.key}"})
    assert answer.status_code == 200
    count = next(
        line for line in answer.text.splitlines()
        if line.startswith("shipyard_reconcile_pass_seconds_count")
    )  # fmt: skip
    assert float(count.split()[-1]) >= 1
    assert "# TYPE shipyard_reconcile_errors_total counter" in answer.text
