"""The API the web UI adds, on a real server with real replicas: usage history per replica
(samples with request and limit, scale events), log follow (NDJSON) and the test prediction."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import Server, deploy, upload, wait_state, wait_until

pytestmark = pytest.mark.integration

PREDICTOR = """
class Predictor:
    def __init__(self):
        print("ui-api: loaded", flush=True)

    def predict(self, inputs):
        print(f"ui-api: predicting {len(inputs)}", flush=True)
        return [sum(row) for row in inputs]
"""


@pytest.fixture(scope="module")
def running(server: Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("ui-api-model")
    (folder / "predictor.py").write_text(PREDICTOR)
    with server.client() as api:
        model = upload(api, "ui-api", Path(folder), framework="python")
        limits = {"cores": 1, "memory": 300}
        requests = {"cores": 0.5, "memory": 100}
        deploy(
            api, "ui-api", model, script_file="predictor.py",
            resources={"num_instances": 1, "requests": requests, "limits": limits},
        )  # fmt: skip
        wait_state(api, "ui-api", "RUNNING")
    return "ui-api"


def test_usage_history_has_samples_with_request_and_limit_and_marks_scaling(
    server: Server, running: str
) -> None:
    with server.client() as api:

        def sampled():
            usage = api.get(f"/deployments/{running}/usage").json()
            replicas = usage["replicas"]
            return usage if replicas and len(replicas[0]["samples"]) >= 2 else None

        usage = wait_until(sampled, 60, "two usage samples")
        replica = usage["replicas"][0]
        assert replica["component"] == "predictor"
        assert replica["limits"] == {"cores": 1.0, "memory": 300, "gpus": 0}
        assert replica["requests"] == {"cores": 0.5, "memory": 100, "gpus": 0}
        sample = replica["samples"][-1]
        assert 0 < sample["memory_mb"] < 300
        assert sample["at"] <= usage["now"]
        assert usage["interval_s"] > 0 and usage["retention_s"] >= 3600

        spec = api.get(f"/deployments/{running}").json()["spec"]
        spec["predictor"]["resources"]["num_instances"] = 2
        assert api.put(f"/deployments/{running}", json={"spec": spec}).status_code == 200

        def scaled():
            events = api.get(f"/deployments/{running}/usage").json()["events"]
            return [e for e in events if e["kind"] == "scale"]

        events = wait_until(scaled, 90, "a scale event")
        assert events[0]["message"] == "predictor: 1 -> 2 instances"
        recent = api.get(f"/deployments/{running}/usage", params={"window_s": 0.001}).json()
        assert all(len(r["samples"]) <= 1 for r in recent["replicas"])


def test_usage_and_follow_refuse_bad_input(server: Server, running: str) -> None:
    with server.client() as api:
        assert api.get("/deployments/nope/usage").status_code == 404
        bad = api.get(f"/deployments/{running}/usage", params={"window_s": 0})
        assert bad.status_code == 422 and "window_s" in bad.text
        follow = api.get(f"/deployments/{running}/logs/follow", params={"component": "x"})
        assert follow.status_code == 422 and "predictor or transformer" in follow.text
    assert httpx.get(f"{server.api}/api/v1/deployments/{running}/usage").status_code == 401


def test_follow_streams_new_lines_as_they_are_written(server: Server, running: str) -> None:
    seen: list[dict] = []
    got_new = threading.Event()
    url = f"{server.api}/api/v1/deployments/{running}/logs/follow"
    headers = {"Authorization": f"ApiKey {server.key}"}
    with httpx.stream("GET", url, headers=headers, params={"tail": 5}, timeout=60) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        lines = answer.iter_lines()
        first = json.loads(next(lines))
        assert set(first) == {"replica", "line"}
        body = {"instances": [[1, 2], [3, 4]]}

        def send() -> None:
            with server.client() as api:
                api.post(f"/deployments/{running}/predict", json=body)
            got_new.set()

        threading.Thread(target=send).start()
        for line in lines:  # bounded by the stream's own limit and the client timeout
            seen.append(json.loads(line))
            if seen[-1]["line"] == "ui-api: predicting 2":
                break
    assert got_new.wait(60)
    assert seen[-1]["line"] == "ui-api: predicting 2"


def test_prediction_through_the_api_matches_the_gateway(server: Server, running: str) -> None:
    with server.client() as api:
        answer = api.post(f"/deployments/{running}/predict", json={"instances": [[1, 2.5]]})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [3.5]}
        assert api.post("/deployments/nope/predict", json={"instances": []}).status_code == 404
        bad = api.post(f"/deployments/{running}/predict", content=b"[1", headers={
            "Content-Type": "application/json"})  # fmt: skip
        assert bad.status_code == 422


def test_the_ui_is_served_on_the_api_port(server: Server) -> None:
    answer = httpx.get(f"{server.api}/ui/")
    assert answer.status_code in (200, 503)  # 503 = not built, with the command to build it
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    banner = server.log_text()
    assert f"{server.api}/ui/" in banner
