"""A real ``shipyard server`` (subprocess, free loopback ports) on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPLES = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6], [5.1, 3.5, 1.4, 0.2]]


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check, timeout: float, what: str, step: float = 0.1):
    """Poll ``check`` until it returns a truthy value; bounded by ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Server:
    home: Path
    database_url: str | None
    api_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable
    """The server's interpreter (its replicas' too, unless they use a built environment)."""

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def key(self) -> str:
        return (self.home / "api-key").read_text().strip()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(
            SHIPYARD_HOME=str(self.home),
            SHIPYARD_API_PORT=str(self.api_port),
            SHIPYARD_GATEWAY_PORT=str(self.gateway_port),
            SHIPYARD_GATEWAY_GRPC_PORT=str(self.grpc_port),
            SHIPYARD_RESTART_BACKOFF_S="0.2",
            SHIPYARD_RECONCILE_INTERVAL_S="0.3",
            SHIPYARD_STOP_GRACE_S="5",
        )
        if self.database_url:
            env["SHIPYARD_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home.parent / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [self.python, "-m", "shipyard", "server"],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home.parent,
            )
        wait_until(lambda: httpx.get(f"{self.api}/healthz").status_code == 200, 60, "the API")
        wait_until(
            lambda: httpx.get(f"{self.gateway}/v2/health/ready").status_code == 200, 60, "gateway"
        )

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        assert self.proc is not None
        if sig == signal.SIGKILL:
            # a crash: the server and its gateway die, replicas (own sessions) survive
            gateway = ["pkill", "-KILL", "-P", str(self.proc.pid), "-f", "shipyard.gateway"]
            subprocess.run(gateway, check=False)
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        self.proc = None

    def crash(self) -> None:
        """``kill -9`` of the server alone: its gateway (own session) and replicas live on."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=60)
        self.proc = None

    def gateway_supervisor(self) -> int | None:
        """The pid of the running gateway supervisor (from its record), if any."""
        with contextlib.suppress(OSError, ValueError, KeyError):
            pid = int(json.loads((self.home / "run" / "gateway.json").read_text())["pid"])
            os.kill(pid, 0)
            return pid
        return None

    def gateway_workers(self) -> list[int]:
        supervisor = self.gateway_supervisor()
        if supervisor is None:
            return []
        found = subprocess.run(
            ["pgrep", "-P", str(supervisor), "-f", "shipyard.gateway"],
            capture_output=True,
            text=True,
            check=False,
        )
        return sorted(int(pid) for pid in found.stdout.split())

    def listening_workers(self) -> list[int]:
        """The gateway workers that listen on the gateway port (from ``/proc``)."""
        port = f":{self.gateway_port:04X}"
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as handle:
                for line in handle.read().splitlines()[1:]:
                    fields = line.split()
                    if fields[1].endswith(port) and fields[3] == "0A":  # LISTEN
                        inodes.add(fields[9])
        found = []
        for pid in self.gateway_workers():
            with contextlib.suppress(OSError):
                links = [
                    os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
                ]
                if any(link[8:-1] in inodes for link in links if link.startswith("socket:[")):
                    found.append(pid)
        return found

    def log_text(self) -> str:
        path = self.home.parent / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.api}/api/v1",
            headers={"Authorization": f"ApiKey {key or self.key}"},
            timeout=60,
        )


def _postgres_database() -> Iterator[str | None]:
    base = os.environ.get("SHIPYARD_TEST_POSTGRES_URL")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: SHIPYARD_TEST_POSTGRES_URL is not set")
        pytest.skip("SHIPYARD_TEST_POSTGRES_URL is not set")
    import psycopg

    name = f"shipyard_it_{uuid.uuid4().hex[:8]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kill_leftover_replicas(home: Path) -> None:
    """Replicas and the gateway run in their own sessions: make sure none outlives its test."""
    with contextlib.suppress(OSError, ValueError, KeyError, ProcessLookupError):
        pid = int(json.loads((home / "run" / "gateway.json").read_text())["pid"])
        os.kill(pid, signal.SIGTERM)
    for handle in (home / "run" / "replicas").glob("*.json"):
        pid = json.loads(handle.read_text()).get("pid")
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def pack(directory: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buf.getvalue()


def upload(client: httpx.Client, name: str, directory: Path, framework: str = "sklearn") -> dict:
    answer = client.post(
        f"/models/{name}/versions",
        files={"artifact": ("model.tar.gz", pack(directory), "application/gzip")},
        data={"metadata": json.dumps({"framework": framework})},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def deploy(client: httpx.Client, name: str, model: dict, instances: int = 1, **predictor) -> dict:
    spec = {
        "name": name,
        "predictor": {
            "model_name": model["name"],
            "model_version": model["version"],
            "resources": {"num_instances": instances},
            **predictor,
        },
    }
    answer = client.post("/deployments", json={"spec": spec})
    assert answer.status_code == 201, answer.text
    return answer.json()


def state_of(client: httpx.Client, name: str) -> dict:
    answer = client.get(f"/deployments/{name}")
    answer.raise_for_status()
    return answer.json()["status"]


def wait_state(client: httpx.Client, name: str, state: str, timeout: float = 90) -> dict:
    def check():
        status = state_of(client, name)
        return status if status["state"] == state else None

    return wait_until(check, timeout, f"{name} to be {state}", step=0.2)


@contextlib.contextmanager
def own_server(root: Path, **extra_env: str) -> Iterator[Server]:
    """A SQLite server of a test module's own, with extra settings; stopped and cleaned after."""
    srv = Server(home=root / "home", database_url=None, extra_env=extra_env)
    srv.start()
    try:
        yield srv
    finally:
        if srv.proc is not None:
            srv.stop()
        kill_leftover_replicas(srv.home)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp(f"shipyard-{request.param}")
    databases = _postgres_database() if request.param == "postgres" else iter([None])
    url = next(databases)
    srv = Server(home=root / "home", database_url=url)
    srv.start()
    try:
        yield srv
    finally:
        if srv.proc is not None:
            srv.stop()
        for line in srv.log_text().splitlines()[-40:]:
            print(line)
        next(databases, None)
        kill_leftover_replicas(srv.home)


@pytest.fixture(scope="session")
def iris_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO / "examples" / "iris"))
    from train import train  # type: ignore[import-not-found]

    out = tmp_path_factory.mktemp("iris")
    train(out)
    return out


@pytest.fixture(scope="session")
def crashing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crashing")
    (out / "predictor.py").write_text(
        "class Predictor:\n"
        "    def __init__(self):\n"
        "        raise RuntimeError('weights file is corrupt')\n"
        "    def predict(self, inputs):\n"
        "        return inputs\n"
    )
    return out


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


class Load:
    """A bounded load loop on the gateway: ``workers`` threads send predictions until stopped
    (or ``max_s`` passed); every non-2xx answer and every connection error is kept."""

    def __init__(
        self, server: Server, name: str, body: dict, *, workers: int = 4, max_s: float = 120.0
    ) -> None:
        self._url = f"{server.gateway}/v1/models/{name}:predict"
        self._headers = {"Authorization": f"ApiKey {server.key}"}
        self._body = body
        self._deadline = time.monotonic() + max_s
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(workers)]
        self.ok = 0
        self.failures: list[str] = []

    def _run(self) -> None:
        with httpx.Client(headers=self._headers, timeout=60) as client:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                try:
                    answer = client.post(self._url, json=self._body)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if 200 <= answer.status_code < 300:
                    self.ok += 1
                else:
                    self.failures.append(f"{answer.status_code} {answer.text[:600]}")

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)
