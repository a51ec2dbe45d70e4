"""The real ``python -m shipyard.runtime`` process: readiness, V1, V2, tritonclient, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

pytestmark = pytest.mark.integration

ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6], [5.1, 3.5, 1.4, 0.2]]
TRAIN_X = [[5.1, 3.5, 1.4, 0.2], [4.9, 3.0, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [5.9, 3.0, 4.2, 1.5]]
TRAIN_Y = [0, 0, 1, 1]

PREDICTOR = """
import os
import time

import joblib
import numpy as np


class Predictor:
    def __init__(self):
        self.model = joblib.load(os.path.join(os.environ["MODEL_FILES_PATH"], "model.joblib"))

    def predict(self, inputs):
        if inputs == "slow":
            open(os.path.join(os.environ["MODEL_FILES_PATH"], "slow-started"), "w").close()
            time.sleep(1.0)
            return "done"
        return self.model.predict(np.asarray(inputs, dtype=float)).tolist()
"""


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"runtime exited early:\n{self.logs()}"
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"runtime not ready after {timeout}s:\n{self.logs()}")


BLOCKED = ("numpy", "pandas", "sklearn", "pydantic", "httpx")
LEAN_MAIN = (
    "import sys\n"
    f"sys.modules.update(dict.fromkeys({BLOCKED!r}))  # importing these now raises ImportError\n"
    "from shipyard.runtime.server import main\n"
    "sys.exit(main())\n"
)
"""``python -m shipyard.runtime`` in an environment without numpy, pandas, pydantic, httpx."""


@contextmanager
def start_runtime(model_dir: Path, *extra: str, lean: bool = False) -> Iterator[Replica]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        MODEL_FILES_PATH=str(model_dir),
        ARTIFACT_FILES_PATH=str(model_dir),
        DEPLOYMENT_NAME="iris",
        DEPLOYMENT_VERSION="1",
        MODEL_NAME="iris",
        MODEL_VERSION="2",
        IS_TRANSFORMER="false",
        PYTHONUNBUFFERED="1",
    )
    stdout, stderr = model_dir / "stdout.log", model_dir / "stderr.log"
    entry = ["-c", LEAN_MAIN] if lean else ["-m", "shipyard.runtime"]
    command = [sys.executable, *entry, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--component", "predictor", *extra]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=model_dir)
    replica = Replica(process, f"http://127.0.0.1:{port}", port, stdout, stderr)
    try:
        yield replica
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model = LogisticRegression().fit(np.array(TRAIN_X), np.array(TRAIN_Y))
    joblib.dump(model, tmp_path / "model.joblib")
    (tmp_path / "predictor.py").write_text(PREDICTOR)
    return tmp_path


def stop(replica: Replica, timeout: float = 15.0) -> int:
    replica.process.send_signal(signal.SIGTERM)
    return replica.process.wait(timeout)


def check_tritonclient(port: int) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(url=f"127.0.0.1:{port}")
    try:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready("iris")
        assert client.get_model_metadata("iris")["name"] == "iris"
        data = np.array(ROWS, dtype=np.float32)
        tensor = triton.InferInput("input-0", list(data.shape), "FP32")
        tensor.set_data_from_numpy(data, binary_data=False)
        wanted = triton.InferRequestedOutput("predict", binary_data=False)
        result = client.infer("iris", [tensor], outputs=[wanted], request_id="t-1")
        assert result.as_numpy("predict").tolist() == [1, 1, 0]
        assert result.get_response()["id"] == "t-1"
    finally:
        client.close()


def test_runtime_serves_v1_v2_and_tritonclient_then_stops_on_sigterm(model_dir):
    script = str(model_dir / "predictor.py")
    with start_runtime(
        model_dir, "--name", "iris", "--framework", "sklearn", "--script", script
    ) as replica:
        replica.wait_ready()
        v1 = httpx.post(f"{replica.url}/v1/models/iris:predict", json={"instances": ROWS})
        assert (v1.status_code, v1.json()) == (200, {"predictions": [1, 1, 0]})
        tensor = {"name": "input-0", "shape": [3, 4], "datatype": "FP32", "data": ROWS}
        v2 = httpx.post(f"{replica.url}/v2/models/iris/infer", json={"id": "7", "inputs": [tensor]})
        assert v2.status_code == 200
        assert v2.json() == {
            "model_name": "iris",
            "model_version": "2",
            "id": "7",
            "outputs": [{"name": "predict", "datatype": "INT64", "shape": [3], "data": [1, 1, 0]}],
        }
        check_tritonclient(replica.port)
        assert stop(replica) == 0
        assert (
            f"shipyard-runtime ready model=iris port={replica.port}" in replica.stdout.read_text()
        )


def test_sigterm_lets_in_flight_requests_finish(model_dir):
    with start_runtime(model_dir) as replica:
        replica.wait_ready()
        answers: list[httpx.Response] = []
        url = f"{replica.url}/v1/models/iris:predict"
        worker = threading.Thread(
            target=lambda: answers.append(httpx.post(url, json={"instances": "slow"}, timeout=10))
        )
        worker.start()
        started = model_dir / "slow-started"
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:  # the request is in flight
            time.sleep(0.01)
        assert started.exists(), "the slow request never reached the model"
        assert stop(replica) == 0
        worker.join(10)
        assert answers[0].json() == {"predictions": "done"}


def test_a_unix_socket_serves_like_the_port_and_is_removed_at_exit(model_dir, tmp_path):
    path = tmp_path / "replica.sock"
    path.write_text("left by a killed replica")  # replaced, not an error
    with start_runtime(model_dir, "--unix-socket", str(path)) as replica:
        replica.wait_ready()
        body = {"instances": ROWS}
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path))) as local:
            over_unix = local.post("http://replica/v1/models/iris:predict", json=body)
        over_tcp = httpx.post(f"{replica.url}/v1/models/iris:predict", json=body)
        assert over_unix.json() == over_tcp.json() == {"predictions": [1, 1, 0]}
        assert stop(replica) == 0
    assert not path.exists()


def test_load_failure_exits_3_with_the_traceback(tmp_path):
    (tmp_path / "predictor.py").write_text(
        "class Predictor:\n    def __init__(self):\n        raise RuntimeError('no weights')\n"
    )
    with start_runtime(tmp_path) as replica:
        assert replica.process.wait(30) == 3
        logs = replica.stderr.read_text()
        assert "Traceback" in logs
        assert "RuntimeError: no weights" in logs


def test_bare_python_predictor_runs_without_numpy_pandas_pydantic_httpx(tmp_path):
    (tmp_path / "predict.py").write_text(
        "class Predict:\n"
        "    async def predict(self, inputs):\n"
        "        return [[x * 2 for x in row] for row in inputs]\n"
    )
    with start_runtime(tmp_path, lean=True) as replica:
        replica.wait_ready()
        v1 = httpx.post(f"{replica.url}/v1/models/iris:predict", json={"instances": [[1, 2]]})
        assert v1.json() == {"predictions": [[2, 4]]}
        tensor = {"name": "x", "shape": [2, 2], "datatype": "INT32", "data": [1, 2, 3, 4]}
        v2 = httpx.post(f"{replica.url}/v2/models/iris/infer", json={"inputs": [tensor]})
        output = v2.json()["outputs"][0]
        assert (output["datatype"], output["shape"], output["data"]) == (
            "INT64",
            [2, 2],
            [2, 4, 6, 8],
        )
        assert stop(replica) == 0
