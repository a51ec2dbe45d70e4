"""The foundation flows against a real server, real replicas and the real gateway."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import (
    SAMPLES,
    Server,
    deploy,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration


def gateway_client(server: Server, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=server.gateway,
        headers={"Authorization": f"ApiKey {key or server.key}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def iris(server: Server, iris_dir) -> dict:
    with server.client() as api:
        model = upload(api, "iris", iris_dir)
        deploy(api, "iris", model, instances=2, script_file="predictor.py")
        wait_state(api, "iris", "RUNNING")
    return model


def test_calls_without_a_valid_key_get_401(server: Server) -> None:
    assert httpx.get(f"{server.api}/api/v1/deployments").status_code == 401
    wrong = httpx.get(f"{server.api}/api/v1/models", headers={"Authorization": "ApiKey nope"})
    assert wrong.status_code == 401
    assert "Authorization: ApiKey" in wrong.json()["error"]["message"]
    assert httpx.post(f"{server.gateway}/v1/models/iris:predict", json={}).status_code == 401


def test_the_gateway_reaches_local_replicas_over_their_unix_sockets(
    server: Server, iris: dict
) -> None:
    handles = (server.home / "run" / "replicas").glob("*.json")
    sockets = {json.loads(p.read_text())["extra"].get("socket") for p in handles} - {None}
    assert sockets and all(os.path.exists(path) for path in sockets)
    with gateway_client(server) as gw:
        for _ in range(3):
            assert gw.post("/v1/models/iris:predict", json={"instances": SAMPLES}).is_success
    # /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; St 03 = connected
    rows = [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    assert any(len(r) == 8 and r[7] in sockets and r[5] == "03" for r in rows)


def test_two_instances_answer_v1_v2_and_tritonclient(server: Server, iris: dict) -> None:
    with server.client() as api:
        status = state_of(api, "iris")
    ready = [r for r in status["replicas"] if r["phase"] == "READY"]
    assert len(ready) == 2 and len({r["pid"] for r in ready}) == 2
    with gateway_client(server) as gw:
        assert gw.get("/v1/models/iris").json() == {"name": "iris", "ready": True}
        v1 = gw.post("/v1/models/iris:predict", json={"instances": SAMPLES})
        assert v1.status_code == 200, v1.text
        assert v1.json()["predictions"] == [1, 1, 0]
        body = {"id": "42", "inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP32",
                                        "data": [v for row in SAMPLES for v in row]}]}  # fmt: skip
        v2 = gw.post("/v2/models/iris/infer", json=body).json()
        assert v2["id"] == "42" and v2["outputs"][0]["data"] == [1, 1, 0]
        assert gw.get("/v2/models/iris/ready").status_code == 200

    import numpy as np
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.gateway_port}")
    headers = {"Authorization": f"ApiKey {server.key}"}
    assert client.is_server_live()
    assert client.is_model_ready("iris", headers=headers)
    tensor = triton.InferInput("x", [3, 4], "FP32")
    tensor.set_data_from_numpy(np.asarray(SAMPLES, dtype=np.float32), binary_data=False)
    out = triton.InferRequestedOutput("predict", binary_data=False)
    result = client.infer("iris", [tensor], outputs=[out], headers=headers)
    assert result.as_numpy("predict").tolist() == [1, 1, 0]
    client.close()


def test_malformed_requests_get_a_4xx_and_the_replica_keeps_serving(server: Server, iris) -> None:
    with gateway_client(server) as gw:
        bad_json = gw.post(
            "/v1/models/iris:predict",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert bad_json.status_code == 400 and bad_json.json()["error"]
        bad_shape = gw.post(
            "/v2/models/iris/infer",
            json={"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2]}]},
        )
        assert bad_shape.status_code == 400 and "shape" in bad_shape.json()["error"]
        assert gw.post("/v1/models/nope:predict", json={"instances": []}).status_code == 404
        ok = gw.post("/v1/models/iris:predict", json={"instances": SAMPLES})
        assert ok.status_code == 200


def test_a_killed_replica_is_restarted_while_requests_keep_succeeding(server: Server, iris) -> None:
    with server.client() as api:
        victim = state_of(api, "iris")["replicas"][0]
    failures: list[str] = []
    done = threading.Event()
    sent = 0

    def load() -> None:
        nonlocal sent
        with gateway_client(server) as gw:
            deadline = time.monotonic() + 120  # bounded; the test ends it once it saw enough
            while not done.is_set() and time.monotonic() < deadline:
                try:
                    answer = gw.post("/v1/models/iris:predict", json={"instances": SAMPLES})
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                sent += 1

    worker = threading.Thread(target=load)
    worker.start()
    wait_until(lambda: sent >= 10, 30, "load to run")
    os.kill(victim["pid"], signal.SIGKILL)
    with server.client() as api:

        def restarted():
            status = state_of(api, "iris")
            replicas = {r["slot"]: r for r in status["replicas"] if r["phase"] == "READY"}
            slot = replicas.get(victim["slot"])
            fresh = slot is not None and slot["pid"] != victim["pid"]
            return status if fresh and status["state"] == "RUNNING" else None

        status = wait_until(restarted, 60, "the killed replica to be replaced")
    after = sent
    wait_until(lambda: sent >= after + 10, 30, "load after the replacement")
    done.set()
    worker.join(timeout=30)
    # the one request the victim may have held when killed is a 502 naming the cause (never
    # resent: it might be what killed it, issue 17); every other request succeeded
    assert len(failures) <= 1, failures[:5]
    assert all("closed the connection before answering" in f for f in failures), failures
    assert sent > 20
    replaced = next(r for r in status["replicas"] if r["slot"] == victim["slot"])
    assert replaced["restarts"] >= 1
    assert replaced["last_exit"]["reason"] == "Killed"


def test_another_projects_key_sees_nothing_of_this_one(server: Server, iris) -> None:
    with server.client() as api:
        created = api.post("/projects", json={"name": "other"})
        assert created.status_code == 201, created.text
        other_key = created.json()["api_key"]
    with server.client(other_key) as other:
        assert other.get("/project").json()["name"] == "other"
        assert other.get("/deployments").json() == []
        assert other.get("/models").json() == []
        assert other.get("/deployments/iris").status_code == 404
        assert other.get("/models/iris/versions").status_code == 404
        assert other.post("/projects", json={"name": "x"}).status_code == 403

    def gateway_knows_key():
        with gateway_client(server, other_key) as gw:
            answer = gw.post("/v1/models/iris:predict", json={"instances": SAMPLES})
            return answer if answer.status_code != 401 else None

    assert wait_until(gateway_knows_key, 10, "the gateway to learn the key").status_code == 404


def test_a_crash_looping_model_fails_with_its_reason(server: Server, crashing_dir) -> None:
    with server.client() as api:
        model = upload(api, "broken", crashing_dir, framework="python")
        deploy(api, "broken", model, script_file="predictor.py")
        seen: set[str] = set()

        def failed():
            status = state_of(api, "broken")
            seen.add(status["state"])
            return status if status["state"] == "FAILED" else None

        status = wait_until(failed, 90, "the broken deployment to fail", step=0.2)
        assert "RUNNING" not in seen
        assert "failed 3 times" in status["message"]
        started = next(c for c in status["conditions"] if c["type"] == "STARTED")
        assert started["status"] == "False" and started["reason"] == "CrashLoopBackOff"
        logs = api.get("/deployments/broken/logs", params={"tail": 200}).json()
        assert any("weights file is corrupt" in line["line"] for line in logs["lines"])
        assert api.delete("/deployments/broken").status_code == 204


def test_logs_of_each_replica_are_kept(server: Server, iris) -> None:
    with server.client() as api:
        logs = api.get("/deployments/iris/logs", params={"component": "predictor", "tail": 20})
        assert logs.status_code == 200
        replicas = {line["replica"] for line in logs.json()["lines"]}
        assert len(replicas) >= 2
        bad = api.get("/deployments/iris/logs", params={"component": "nope"})
        assert bad.status_code == 422


def test_invalid_specs_are_rejected_with_field_value_and_fix(server: Server, iris) -> None:
    with server.client() as api:
        spec = {
            "name": "too-big",
            "predictor": {
                "model_name": "iris",
                "model_version": iris["version"],
                "resources": {
                    "requests": {"cores": 4, "memory": 128},
                    "limits": {"cores": 1, "memory": 64},
                },
            },
        }
        answer = api.post("/deployments", json={"spec": spec})
        assert answer.status_code == 422
        fields = {e["field"] for e in answer.json()["error"]["details"]["errors"]}
        assert {
            "predictor.resources.requests.cores",
            "predictor.resources.requests.memory",
        } <= fields
        spec["predictor"]["resources"] = {}
        spec["predictor"]["model_version"] = 99
        missing = api.post("/deployments", json={"spec": spec})
        assert missing.status_code == 422 and "99" in missing.json()["error"]["message"]
        spec["predictor"]["model_version"] = iris["version"]
        spec["predictor"]["script_file"] = "nope.py"
        script = api.post("/deployments", json={"spec": spec})
        assert script.status_code == 422 and "predictor.py" in script.json()["error"]["message"]
        dup = api.post("/deployments", json={"spec": {**spec, "name": "iris"}})
        assert dup.status_code in (409, 422)


def test_uploads_that_escape_the_target_directory_are_rejected(server: Server) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with server.client() as api:
        answer = api.post(
            "/models/evil/versions",
            files={"artifact": ("m.tar.gz", buf.getvalue(), "application/gzip")},
            data={"metadata": json.dumps({"framework": "python"})},
        )
        assert answer.status_code == 400
        assert "../escape.txt" in answer.json()["error"]["message"]
        assert api.get("/models/evil/versions").status_code == 404


def test_a_version_downloads_as_uploaded(server: Server, iris, iris_dir) -> None:
    with server.client() as api:
        answer = api.get(f"/models/iris/versions/{iris['version']}/artifact")
        assert answer.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
        content = tar.extractfile("predictor.py").read()  # type: ignore[union-attr]
    assert (
        names
        == {p.name for p in iris_dir.iterdir()}
        == {"model.joblib", "predictor.py", "transformer.py"}
    )
    assert content == (iris_dir / "predictor.py").read_bytes()
    assert iris["checksum"].startswith("sha256:")


def test_stop_answers_503_and_start_brings_it_back(server: Server, iris) -> None:
    with server.client() as api, gateway_client(server) as gw:
        assert api.post("/deployments/iris/stop").status_code == 200
        wait_state(api, "iris", "STOPPED")

        def refused():  # the gateway learns the new state a moment after the API shows it
            answer = gw.post("/v1/models/iris:predict", json={"instances": SAMPLES})
            assert answer.status_code == 503, answer.text
            return answer if "STOPPED" in answer.json()["error"] else None

        answer = wait_until(refused, 10, "the gateway to refuse with state STOPPED")
        assert "start it to serve again" in answer.json()["error"]
        assert api.post("/deployments/iris/start").status_code == 200
        wait_state(api, "iris", "RUNNING")
        assert gw.post("/v1/models/iris:predict", json={"instances": SAMPLES}).status_code == 200


def test_deployments_come_back_after_a_restart_and_after_a_crash(server: Server, iris) -> None:
    server.stop(signal.SIGINT)
    server.start()
    with server.client() as api:
        wait_state(api, "iris", "RUNNING")
        before = sorted(r["pid"] for r in state_of(api, "iris")["replicas"])
    server.stop(signal.SIGKILL)  # replicas survive a crash of the server ...
    server.start()
    with server.client() as api, gateway_client(server) as gw:
        status = wait_state(api, "iris", "RUNNING")
        after = sorted(r["pid"] for r in status["replicas"])
        assert after == before  # ... and are adopted: none lost, none duplicated
        answer = gw.post("/v1/models/iris:predict", json={"instances": SAMPLES})
        assert answer.status_code == 200, answer.text
