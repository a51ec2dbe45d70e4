"""The usage history on a real server with a real replica: a replica that died and restarted
shows the restart, and the history (samples and events) survives a server restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import deploy, own_server, upload, wait_state, wait_until

pytestmark = pytest.mark.integration

PREDICTOR = """
import os

class Predictor:
    def predict(self, inputs):
        if inputs == [[-1]]:
            os._exit(3)  # dies mid-request: the controller restarts it
        return [sum(row) for row in inputs]
"""


def test_a_restart_is_marked_and_the_history_survives_a_server_restart(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text(PREDICTOR)
    with own_server(tmp_path) as server:
        with server.client() as api:
            model = upload(api, "dies", folder, framework="python")
            deploy(api, "dies", model, script_file="predictor.py")
            wait_state(api, "dies", "RUNNING")

            def samples() -> list[dict]:
                replicas = api.get("/deployments/dies/usage").json()["replicas"]
                return [s for r in replicas for s in r["samples"]]

            wait_until(lambda: len(samples()) >= 2 or None, 60, "two usage samples")
            headers = {"Authorization": f"ApiKey {server.key}"}
            url = f"{server.gateway}/v1/models/dies:predict"
            httpx.post(url, json={"instances": [[-1]]}, headers=headers, timeout=30)

            def restarted() -> list[dict] | None:
                events = api.get("/deployments/dies/usage").json()["events"]
                return [e for e in events if e["kind"] == "restart"] or None

            (restart,) = wait_until(restarted, 90, "a restart event")

            def back() -> bool:
                replicas = api.get("/deployments/dies/usage").json()["replicas"]
                assert replicas[-1]["replica"] == restart["replica"]  # the newest is listed last
                return replicas[-1]["live"]

            wait_until(back, 90, "the restarted replica back")
            before = samples()
        server.stop()
        server.start()
        with server.client() as api:
            after = api.get("/deployments/dies/usage").json()
            assert [e for e in after["events"] if e["kind"] == "restart"] == [restart]
            kept = {s["at"] for r in after["replicas"] for s in r["samples"]}
            assert {s["at"] for s in before} <= kept  # every sample taken before the restart
            assert after["history_s"] >= 86400 and after["bucket_s"] == 60
