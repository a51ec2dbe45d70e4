"""Standard V2 clients unchanged against a real server, gateway and replicas (issue 22).

``tritonclient.http`` with its defaults sends and asks for binary tensor data, and
``tritonclient.grpc`` speaks ``GRPCInferenceService`` to the gateway's gRPC port; their answers
must be those of plain JSON over REST, for FP32 (a scikit-learn model), INT64 and BYTES tensors.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from shipyard.gateway.inferencelog import REQUEST_TYPE, RESPONSE_TYPE
from tests.integration.system.conftest import (
    SAMPLES,
    Server,
    deploy,
    own_server,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration

ECHO = """
class Predictor:
    def predict(self, inputs):
        return {"ids": [[2 * v for v in row] for row in inputs["ids"]],
                "words": [w.upper() if isinstance(w, str) else w for w in inputs["words"]]}
"""
IDS = np.array([[1, -(2**40)], [7, 2**61]], dtype=np.int64)
WORDS = np.array([b"alpha", "b\u00e9ta".encode(), b""], dtype=np.object_)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, iris_dir: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("standard-clients")
    echo = root / "echo"
    echo.mkdir()
    (echo / "predictor.py").write_text(ECHO)
    with own_server(root) as server:
        with server.client() as api:
            deploy(api, "iris", upload(api, "iris", iris_dir))
            deploy(api, "echo", upload(api, "echo", echo, "python"), script_file="predictor.py")
            wait_state(api, "iris", "RUNNING")
            wait_state(api, "echo", "RUNNING")
        yield server


@pytest.fixture
def client(served: Server) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(url=f"127.0.0.1:{served.gateway_port}")
    yield client
    client.close()


def headers(server: Server) -> dict[str, str]:
    return {"Authorization": f"ApiKey {server.key}"}


def rest(server: Server, model: str, inputs: list[dict]) -> dict:
    answer = httpx.post(
        f"{server.gateway}/v2/models/{model}/infer",
        json={"inputs": inputs},
        headers=headers(server),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {out["name"]: out["data"] for out in answer.json()["outputs"]}


def test_tritonclient_defaults_get_the_json_answers_for_fp32(served, client) -> None:
    rows = np.asarray(SAMPLES, dtype=np.float32)
    tensor = triton.InferInput("x", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)  # binary_data=True, the default
    result = client.infer("iris", [tensor], headers=headers(served))
    assert result.get_response()["outputs"][0]["parameters"]["binary_data_size"] > 0
    flat = [float(v) for v in rows.reshape(-1)]
    expected = rest(served, "iris", [{"name": "x", "shape": [3, 4], "datatype": "FP32",
                                      "data": flat}])  # fmt: skip
    assert result.as_numpy("predict").tolist() == expected["predict"] == [1, 1, 0]


def test_tritonclient_defaults_get_the_json_answers_for_int64_and_bytes(served, client) -> None:
    ids = triton.InferInput("ids", list(IDS.shape), "INT64")
    ids.set_data_from_numpy(IDS)
    words = triton.InferInput("words", list(WORDS.shape), "BYTES")
    words.set_data_from_numpy(WORDS)
    result = client.infer("echo", [ids, words], headers=headers(served))
    expected = rest(
        served,
        "echo",
        [
            {"name": "ids", "shape": [2, 2], "datatype": "INT64", "data": IDS.tolist()},
            {"name": "words", "shape": [3], "datatype": "BYTES",
             "data": [w.decode() for w in WORDS]},
        ],
    )  # fmt: skip
    flat = (IDS * 2).reshape(-1).tolist()
    assert result.as_numpy("ids").tolist() == (IDS * 2).tolist() and expected["ids"] == flat
    got = [w.decode() for w in result.as_numpy("words").tolist()]
    assert got == expected["words"] == ["ALPHA", "B\u00c9TA", ""]


@pytest.mark.parametrize(
    ("size", "length", "message"),
    [
        (48, None, "binary_data_size 48 goes beyond the body"),
        (24, "99999", "beyond the body's"),
        (24, "-3", "is not a non-negative integer"),
        (24, "", "binary_data_size but the request has no Inference-Header-Content-Length"),
    ],
)
def test_malformed_binary_framing_through_the_gateway_is_a_400(
    served: Server, size: int, length: str | None, message: str
) -> None:
    tensor = {"name": "x", "shape": [3, 2], "datatype": "FP32",
              "parameters": {"binary_data_size": size}}  # fmt: skip
    header = json.dumps({"inputs": [tensor]}).encode()
    sent = {**headers(served), "Content-Type": "application/octet-stream"}
    if length != "":
        sent["Inference-Header-Content-Length"] = length or str(len(header))
    body = header + b"\0" * 24 if length != "" else header
    answer = httpx.post(
        f"{served.gateway}/v2/models/iris/infer", content=body, headers=sent, timeout=30
    )
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


def grpc_key(server: Server) -> dict[str, str]:
    return {"authorization": f"ApiKey {server.key}"}  # gRPC metadata keys are lowercase


def grpc_client(server: Server) -> triton_grpc.InferenceServerClient:
    return triton_grpc.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")


def test_tritonclient_grpc_infers_unchanged(served: Server) -> None:
    client = grpc_client(served)
    key = grpc_key(served)
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("iris", headers=key)
        assert client.get_model_metadata("iris", headers=key).name == "iris"
        rows = np.asarray(SAMPLES, dtype=np.float32)
        tensor = triton_grpc.InferInput("x", list(rows.shape), "FP32")
        tensor.set_data_from_numpy(rows)
        result = client.infer("iris", [tensor], headers=key, request_id="7")
        assert result.as_numpy("predict").tolist() == [1, 1, 0]
        assert result.get_response().id == "7"
        ids = triton_grpc.InferInput("ids", list(IDS.shape), "INT64")
        ids.set_data_from_numpy(IDS)
        words = triton_grpc.InferInput("words", list(WORDS.shape), "BYTES")
        words.set_data_from_numpy(WORDS)
        echoed = client.infer("echo", [ids, words], headers=key)
        assert echoed.as_numpy("ids").tolist() == (IDS * 2).tolist()
        assert [w.decode() for w in echoed.as_numpy("words").tolist()] == ["ALPHA", "B\u00c9TA", ""]
    finally:
        client.close()


def test_grpc_refuses_a_wrong_key_and_names_bad_input(served: Server) -> None:
    client = grpc_client(served)
    rows = np.asarray(SAMPLES, dtype=np.float32)
    tensor = triton_grpc.InferInput("x", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)
    try:
        with pytest.raises(InferenceServerException) as refused:
            client.infer("iris", [tensor], headers={"authorization": "ApiKey wrong"})
        assert refused.value.status() == "StatusCode.UNAUTHENTICATED"
        with pytest.raises(InferenceServerException) as missing:
            client.infer("nope", [tensor], headers=grpc_key(served))
        assert missing.value.status() == "StatusCode.NOT_FOUND"
        bad = triton_grpc.InferInput("x", [2, 2], "FP32")
        bad.set_data_from_numpy(rows[:2, :2].copy())
        bad.set_shape([2, 4])  # 16 bytes claimed as 8 elements
        with pytest.raises(InferenceServerException) as invalid:
            client.infer("iris", [bad], headers=grpc_key(served))
        assert invalid.value.status() == "StatusCode.INVALID_ARGUMENT"
        assert "binary_data_size 16 does not fit shape [2, 4]" in invalid.value.message()
    finally:
        client.close()


def index_states(client: triton.InferenceServerClient, key: dict[str, str]) -> dict[str, str]:
    return {m["name"]: m["state"] for m in client.get_model_repository_index(headers=key)}


def test_repository_index_unload_and_load_act_on_deployments(served: Server, client) -> None:
    key = headers(served)
    states = index_states(client, key)
    assert (states["echo"], states["iris"]) == ("READY", "READY")
    client.unload_model("echo", headers=key)
    with served.client() as api:
        wait_state(api, "echo", "STOPPED")
    grpc = grpc_client(served)
    try:
        listed = grpc.get_model_repository_index(headers=grpc_key(served)).models
        assert {m.name: m.state for m in listed}["echo"] == "UNAVAILABLE"
        names = [m.name for m in listed]
        assert names == sorted(names) and {"echo", "iris"} <= set(names)
        grpc.load_model("echo", headers=grpc_key(served))  # returns once a replica is ready
    finally:
        grpc.close()
    assert index_states(client, key)["echo"] == "READY"
    ids = triton.InferInput("ids", [1, 1], "INT64")
    ids.set_data_from_numpy(np.array([[21]], dtype=np.int64))
    words = triton.InferInput("words", [1], "BYTES")
    words.set_data_from_numpy(np.array([b"x"], dtype=np.object_))
    assert client.infer("echo", [ids, words], headers=key).as_numpy("ids").tolist() == [[42]]
    with pytest.raises(InferenceServerException, match="deployment 'nope' not found"):
        client.load_model("nope", headers=key)
    with pytest.raises(InferenceServerException, match=r"^\[401\]"):
        client.get_model_repository_index(headers={"Authorization": "ApiKey wrong"})


class Receiver:
    """A local CloudEvents receiver (stdlib HTTP server in a thread) that keeps what it got."""

    def __init__(self) -> None:
        events = self.events = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                events.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def test_inference_logs_reach_a_receiver_and_a_file_and_a_dead_sink_fails_nothing(
    served: Server,
) -> None:
    receiver = Receiver()
    logger = {"mode": "ALL", "url": receiver.url, "file": "logged.jsonl"}
    with served.client() as api:
        deploy(api, "logged", {"name": "iris", "version": 1}, inference_logger=logger)
        wait_state(api, "logged", "RUNNING")
    sent = 20
    with httpx.Client(base_url=served.gateway, headers=headers(served), timeout=30) as gw:
        for _ in range(sent):
            answer = gw.post("/v1/models/logged:predict", json={"instances": SAMPLES})
            assert answer.status_code == 200, answer.text
        wait_until(lambda: len(receiver.events) >= 2 * sent, 30, "the receiver's events")
        receiver.close()
        ids: dict[str, list[str]] = {}
        for event_headers, _ in receiver.events:
            ids.setdefault(event_headers["ce-id"], []).append(event_headers["ce-type"])
            assert event_headers["ce-inferenceservicename"] == "logged"
            assert event_headers["ce-modelversion"] == "1"
        assert len(ids) == sent and all(
            sorted(types) == sorted([REQUEST_TYPE, RESPONSE_TYPE]) for types in ids.values()
        )
        path = served.home / "logs" / "inference" / "logged.jsonl"
        wait_until(
            lambda: path.exists() and len(path.read_text().splitlines()) >= 2 * sent, 30, "JSONL"
        )
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert {line["deployment"] for line in lines} == {"logged"}
        assert lines[1]["body"] == {"predictions": [1, 1, 0]}
        for _ in range(sent):  # the receiver is down: predictions still succeed
            assert gw.post("/v1/models/logged:predict", json={"instances": SAMPLES}).is_success

        token = (served.home / "run" / "internal-token").read_text().strip()

        def failures() -> bool:  # the gateway's /metrics takes the internal token
            text = gw.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
            return 'deployment="logged",outcome="failed"' in text

        wait_until(failures, 30, "failed deliveries counted")

    def condition() -> dict | None:
        with served.client() as api:
            found = [
                c for c in state_of(api, "logged")["conditions"] if c["type"] == "INFERENCE_LOGGER"
            ]
        return found[0] if found and found[0]["status"] == "False" else None

    failing = wait_until(condition, 30, "the INFERENCE_LOGGER condition")
    assert "cannot be delivered" in failing["message"]


def test_replica_metrics_reach_the_control_planes_metrics(served: Server, client) -> None:
    rows = np.asarray(SAMPLES, dtype=np.float32)
    tensor = triton.InferInput("x", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)
    client.infer("iris", [tensor], headers=headers(served))
    answer = httpx.get(
        f"{served.api}/metrics", headers={"Authorization": f"Bearer {served.key}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert text.count("# TYPE shipyard_replica_predict_seconds histogram") == 1
    lines = [x for x in text.splitlines() if x.startswith("shipyard_replica_predict_seconds_count")]
    iris = [x for x in lines if 'deployment="iris"' in x and 'replica="predictor-0"' in x]
    assert iris and float(iris[0].rsplit(" ", 1)[1]) >= 1
    assert any(x.startswith("shipyard_replica_queue_wait_seconds_count") for x in text.splitlines())
