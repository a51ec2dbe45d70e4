"""The pre-imported parent (``python -m shipyard.runtime.zygote``) forking real replicas."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

PREDICTOR = """
import os


class Predictor:
    def predict(self, inputs):
        return {
            "mark": os.environ.get("MARK"),
            "cwd": os.getcwd(),
            "own_session": os.getsid(0) == os.getpid(),
            "cpus": sorted(os.sched_getaffinity(0)),
            "preloaded": "json" in __import__("sys").modules,
            "path0": __import__("sys").path[0],
            "draw": __import__("numpy").random.random(),
        }
"""


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def ask(path: Path, request: dict[str, object] | bytes) -> dict[str, object]:
    data = request if isinstance(request, bytes) else json.dumps(request).encode() + b"\n"
    with closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(data)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return json.loads(answer)  # type: ignore[no-any-return]


@pytest.fixture
def zygote(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    sock, log = tmp_path / "z.sock", tmp_path / "zygote.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "shipyard.runtime.zygote"),
                # numpy.random: numpy 2 imports it lazily, scikit-learn zygotes import it
                *("--socket", str(sock), "--preload", "json,numpy.random,not_a_module_at_all"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_for(sock.exists, what="the zygote's socket")
        yield sock, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert not sock.exists()  # removed on the way out


def fork_request(tmp_path: Path, name: str, port: int, script: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    argv = ["--host", "127.0.0.1", "--port", str(port), "--name", name, "--framework", "python"]
    return {
        "argv": [*argv, "--script", str(script)],
        "env": {**env, "MODEL_FILES_PATH": str(script.parent), "MARK": name},
        "cwd": str(script.parent),
        "log": str(tmp_path / f"{name}.log"),
        "exit_file": str(tmp_path / f"{name}.exit"),
        "cgroup_procs": [],
        "cpus": [0],
        "threads": 1,
    }


def test_a_forked_replica_serves_with_its_own_setup_and_its_exit_code_is_recorded(
    zygote: tuple[Path, Path], tmp_path: Path
) -> None:
    sock, zygote_log = zygote
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text(PREDICTOR)
    port = free_port()
    pid = int(ask(sock, fork_request(tmp_path, "first", port, model / "predictor.py"))["pid"])
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, what="the forked replica")
    answer = httpx.post(f"{url}/v1/models/first:predict", json={"instances": [1]}).json()
    draw = answer["predictions"].pop("draw")
    assert answer["predictions"] == {
        "mark": "first",
        "cwd": str(model),
        "own_session": True,
        "cpus": [0],
        "preloaded": True,
        "path0": str(model),  # as `python -m shipyard.runtime` run in the model folder
    }
    assert "shipyard-runtime ready model=first" in (tmp_path / "first.log").read_text()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1:4] == [b"-m", b"shipyard.runtime", b"--host"]  # as `ps` shows a replica
    assert b"shipyard.runtime.zygote" not in b" ".join(cmdline)
    assert "not preloaded not_a_module_at_all" in zygote_log.read_text()

    # a second replica of the same zygote draws its own random numbers (numpy reseeded)
    second_port = free_port()
    second = int(
        ask(sock, fork_request(tmp_path, "second", second_port, model / "predictor.py"))["pid"]
    )
    url = f"http://127.0.0.1:{second_port}"
    wait_for(ready, what="the second forked replica")
    answer = httpx.post(f"{url}/v1/models/second:predict", json={"instances": [1]}).json()
    assert answer["predictions"]["draw"] != draw
    os.kill(second, signal.SIGTERM)

    os.kill(pid, signal.SIGTERM)  # graceful stop: exit code 0, written by the zygote
    exit_file = tmp_path / "first.exit"
    wait_for(exit_file.exists, what="the exit file")
    assert exit_file.read_text() == "0"

    # a replica whose model cannot load exits 3, like a normally started one
    missing = fork_request(tmp_path, "broken", free_port(), model / "nope.py")
    ask(sock, missing)
    wait_for((tmp_path / "broken.exit").exists, what="the broken replica's exit")
    assert (tmp_path / "broken.exit").read_text() == "3"

    assert "bad request" in str(ask(sock, b"{not json\n")["error"])
