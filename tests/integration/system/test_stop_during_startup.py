"""A server stopped (SIGINT) at any moment of its start-up exits, frees its data directory and
leaves no process behind: while it imports, while it holds the lock and builds its parts, while
its gateway starts, once its API answers, once its gateway's long polls are open, and while the
replicas of an existing deployment start.

The bound below only detects a hang; the server's own last-resort bound
(``shipyard.server.shutdown``) must not be what ended any of these stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import (
    Server,
    deploy,
    kill_leftover_replicas,
    own_server,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration
HANG_S = 45.0
"""Failure detector only: a stop at start-up takes about a second."""
LONG_POLLS = {"SHIPYARD_GATEWAY_POLL_WAIT_S": "60"}
"""The gateway's long polls as long as the API allows: a stop that waited for them would hang
longer than ``HANG_S`` (it once did)."""


def spawn(srv: Server) -> subprocess.Popen[bytes]:
    """Start the server as from a terminal: with SIGINT's default disposition even when this
    test runs with it ignored (a background job), which the server would inherit until its
    command takes SIGINT (a SIGINT that early would be lost: nothing of ours runs yet)."""
    srv.home.mkdir(parents=True, exist_ok=True)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with (srv.home.parent / "server.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "shipyard", "server"],
                env=srv.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=srv.home.parent,
            )
    finally:
        signal.signal(signal.SIGINT, previous)


def answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


def lock_is_free(home: Path) -> bool:
    fd = os.open(home / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def processes_of(home: Path) -> list[str]:
    """Live processes started for ``home``: by their environment (the gateway, zygotes), their
    command line (uv building an environment there) or the replicas' handle files."""
    marker = f"SHIPYARD_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            environ = (entry / "environ").read_bytes().split(b"\0")
            if marker in environ or str(home).encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:120]!r}")
    for handle in (home / "run" / "replicas").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(json.loads(handle.read_text())["pid"])
            os.kill(pid, 0)
            found.append(f"{pid}: replica of {handle.name}")
    return found


def stop_at(srv: Server, moment: Callable[[subprocess.Popen[bytes]], bool], what: str) -> None:
    """Start the server, SIGINT it at ``moment``, check its exit, its lock, its children."""
    proc = spawn(srv)
    try:
        wait_until(lambda: proc.poll() is not None or moment(proc), 90, what, step=0.02)
        assert proc.poll() is None, f"the server exited before {what}:\n{srv.log_text()[-3000:]}"
        assert_stops(srv, proc, what)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_leftover_replicas(srv.home)


def assert_stops(srv: Server, proc: subprocess.Popen[bytes], what: str) -> None:
    """SIGINT ``proc`` now: it exits (not by the last-resort bound), frees the data directory
    and leaves no process of its home behind."""
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        code = proc.wait(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"SIGINT {what}: still running after {HANG_S} s\n{srv.log_text()[-4000:]}")
    took = time.monotonic() - sent
    log = srv.log_text()
    assert "did not stop within" not in log, log[-4000:]  # the last resort stayed unused
    assert code in (0, 130, -signal.SIGINT), f"exit {code} after {took:.1f} s\n{log[-3000:]}"
    assert lock_is_free(srv.home)
    wait_until(lambda: not processes_of(srv.home), 10, f"no process left ({what})")


def holds_lock(srv: Server) -> Callable[[subprocess.Popen[bytes]], bool]:
    def check(proc: subprocess.Popen[bytes]) -> bool:
        with contextlib.suppress(OSError):
            return f'"pid": {proc.pid}' in (srv.home / "server.lock").read_text()
        return False

    return check


MOMENTS: dict[str, Callable[[Server], Callable[[subprocess.Popen[bytes]], bool]]] = {
    "while it imports": lambda srv: lambda proc: True,
    "while it builds its parts (lock held)": holds_lock,
    "while its gateway starts": lambda srv: (
        lambda proc: (srv.home / "run" / "gateway.json").exists()
    ),
    "as soon as its API answers": lambda srv: lambda proc: answers(f"{srv.api}/healthz"),
    "once its gateway long-polls": lambda srv: (
        lambda proc: answers(f"{srv.gateway}/v2/health/ready")
    ),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_sigint_during_start_up_stops_the_server_cleanly(moment: str, tmp_path: Path) -> None:
    srv = Server(home=tmp_path / "home", database_url=None, extra_env=LONG_POLLS)
    stop_at(srv, MOMENTS[moment](srv), moment)


def test_a_sigint_while_replicas_start_stops_them_too(tmp_path: Path, iris_dir: Path) -> None:
    with own_server(tmp_path, **LONG_POLLS) as first, first.client() as api:
        model = upload(api, "iris", iris_dir)
        deploy(api, "iris", model, instances=2, script_file="predictor.py")
        wait_state(api, "iris", "RUNNING")
        before = {p.name for p in (first.home / "run" / "replicas").glob("*.json")}
    # the next server on this home starts the deployment's replicas again: stop it meanwhile
    again = Server(home=first.home, database_url=None, extra_env=LONG_POLLS)

    def replica_starting(proc: subprocess.Popen[bytes]) -> bool:
        return bool({p.name for p in (again.home / "run" / "replicas").glob("*.json")} - before)

    stop_at(again, replica_starting, "while replicas start")


def test_a_sigint_while_an_environment_builds_stops_the_build_too(tmp_path: Path) -> None:
    cache = Path.home() / ".cache" / "shipyard-tests" / "uv"  # test_environments' warm cache
    srv = Server(
        home=tmp_path / "home",
        database_url=None,
        extra_env={**LONG_POLLS, "SHIPYARD_UV_CACHE_DIR": str(cache)},
    )
    model = tmp_path / "model"
    model.mkdir()
    (model / "predictor.py").write_text(
        "class Predictor:\n    def predict(self, inputs):\n        return inputs\n"
    )
    (model / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    venvs = srv.home / "environments" / "venvs"
    proc = spawn(srv)
    try:
        wait_until(lambda: answers(f"{srv.api}/healthz"), 90, "the API")
        with srv.client() as api:
            deploy(api, "built", upload(api, "built", model, framework="python"))
        building = lambda: any(venvs.glob(".*.building")) or proc.poll() is not None  # noqa: E731
        wait_until(building, 120, "an environment build")
        assert proc.poll() is None, srv.log_text()[-3000:]
        assert_stops(srv, proc, "while an environment builds")
        assert not any(venvs.glob(".*.building"))  # the half-built one is removed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_leftover_replicas(srv.home)


def test_a_sigint_ends_open_log_follows_at_once(tmp_path: Path, iris_dir: Path) -> None:
    """A follow is a response that never ends by itself: the stop ends it cleanly (the stream
    closes as a complete response) instead of cancelling it after the grace, which is set
    longer than ``HANG_S`` here."""
    with own_server(tmp_path, SHIPYARD_STOP_GRACE_S="120", **LONG_POLLS) as srv:
        with srv.client() as api:
            deploy(api, "iris", upload(api, "iris", iris_dir), script_file="predictor.py")
            wait_state(api, "iris", "RUNNING")
        opened, ended = threading.Event(), []

        def follow() -> None:
            url = f"{srv.api}/api/v1/deployments/iris/logs/follow"
            headers = {"Authorization": f"ApiKey {srv.key}"}
            try:
                with httpx.stream("GET", url, headers=headers, timeout=HANG_S) as answer:
                    opened.set()
                    for _ in answer.iter_lines():
                        pass
                ended.append("complete")
            except httpx.HTTPError as exc:
                ended.append(repr(exc))
            finally:
                opened.set()

        reader = threading.Thread(target=follow)
        reader.start()
        assert opened.wait(30) and not ended, ended
        assert srv.proc is not None
        proc, srv.proc = srv.proc, None
        try:
            assert_stops(srv, proc, "with a log follow open")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(timeout=HANG_S)
        assert ended == ["complete"]
