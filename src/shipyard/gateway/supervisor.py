"""The gateway's own supervisor: ``python -m shipyard.gateway.supervisor``, apart from the server.

The data plane must outlive its control plane: if ``shipyard server`` crashes (``kill -9``), the
gateway processes keep serving the last routing table they hold, and the restarted server adopts
them instead of starting an outage. So the server does not run the gateway workers itself; it
starts this small process in a session of its own, which runs ``SHIPYARD_GATEWAY_WORKERS``
workers (``python -m shipyard.gateway``, sharing the port with ``SO_REUSEPORT``) and replaces
any that exits, at once (the others keep serving meanwhile). It records itself in
``<run dir>/gateway.json`` (pid and a digest of the configuration it serves and of its code,
see :func:`describe`), so the next server can tell whether it may adopt it. It stops its workers
and exits on SIGTERM or SIGINT (what the server sends when it stops on purpose). Workers watch
this process and exit when it is gone, so nothing is left behind.

Everything the workers need comes in this process's environment (``SHIPYARD_*`` as for
:class:`~shipyard.settings.GatewaySettings`), plus ``SHIPYARD_GATEWAY_RECORD`` (where to write
the record).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from prometheus_client.multiprocess import mark_process_dead

log = logging.getLogger("shipyard.gateway.supervisor")

RECORD_ENV = "SHIPYARD_GATEWAY_RECORD"
PARENT_ENV = "SHIPYARD_GATEWAY_PARENT_PID"
"""Set for each worker: the supervisor's pid, which the worker watches."""
CONFIG_KEYS = (
    "SHIPYARD_BIND",
    "SHIPYARD_GATEWAY_PORT",
    "SHIPYARD_GATEWAY_GRPC_PORT",
    "SHIPYARD_GATEWAY_WORKERS",
    "SHIPYARD_GATEWAY_CONTROL_URL",
    "SHIPYARD_INTERNAL_TOKEN",
    "SHIPYARD_GATEWAY_ATTEMPTS",
    "SHIPYARD_GATEWAY_COLD_START_TIMEOUT_S",
    "SHIPYARD_LOG_LEVEL",
    "PROMETHEUS_MULTIPROC_DIR",
)
"""The environment that makes two gateways the same (the token is recorded as a digest)."""
POLL_S = 0.1


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code a gateway worker runs (after an upgrade, a new gateway is due)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    files = [root / "settings.py", root / "errors.py"]
    for package in ("gateway", "wire", "http1"):
        files += sorted((root / package).rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def describe(env: dict[str, str]) -> str:
    """A digest of what a gateway started with ``env`` serves, and of its code."""
    picked = {key: env.get(key, "") for key in CONFIG_KEYS}
    picked["code"] = code_digest()
    return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()


class Supervisor:
    """Runs and replaces the workers (see the module docstring)."""

    def __init__(self, env: dict[str, str], record: Path, command: list[str] | None = None) -> None:
        self._env = env
        self._record = record
        self._command = command or [sys.executable, "-m", "shipyard.gateway"]
        self._count = max(1, int(env.get("SHIPYARD_GATEWAY_WORKERS", "1")))
        self._metrics = env.get("PROMETHEUS_MULTIPROC_DIR")
        self._stopping = False
        self._workers: list[subprocess.Popen[bytes]] = []

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """Stop (a signal handler, or called directly)."""
        self._stopping = True

    @property
    def workers(self) -> list[int]:
        """The pids of the current workers."""
        return [proc.pid for proc in self._workers]

    def run(self) -> int:
        if self._metrics:  # the files of a previous run would add to this run's counts
            shutil.rmtree(self._metrics, ignore_errors=True)
            Path(self._metrics).mkdir(parents=True)
        cache = self._env.get("SHIPYARD_GATEWAY_TABLE_CACHE")
        if cache:  # a table of a previous run may hold revoked keys: workers share this run's
            Path(cache).unlink(missing_ok=True)
        load = self._env.get("SHIPYARD_GATEWAY_LOAD_FILE")
        if load:  # its rows may be sized for another number of workers
            Path(load).unlink(missing_ok=True)
        self._workers = [self._start(worker) for worker in range(self._count)]
        self._write_record()
        try:
            while not self._stopping:
                self._replace_exited()
                time.sleep(POLL_S)
        finally:
            self._stop_workers()
            self._record.unlink(missing_ok=True)
        return 0

    def _start(self, worker: int) -> subprocess.Popen[bytes]:
        env = {**self._env, "SHIPYARD_GATEWAY_WORKER_ID": str(worker)}
        env[PARENT_ENV] = str(os.getpid())
        return subprocess.Popen(self._command, env=env)

    def _replace_exited(self) -> None:
        for worker, proc in enumerate(self._workers):
            if proc.poll() is None or self._stopping:
                continue
            log.error(
                "gateway worker %d exited with code %s; replacing it", worker, proc.returncode
            )
            if self._metrics:  # its counts stay; its gauges no longer count
                mark_process_dead(proc.pid, self._metrics)  # type: ignore[no-untyped-call]
            self._workers[worker] = self._start(worker)

    def _stop_workers(self) -> None:
        for proc in self._workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15.0
        for proc in self._workers:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _write_record(self) -> None:
        record = {"pid": os.getpid(), "config": describe(self._env)}
        temporary = self._record.with_suffix(".tmp")
        temporary.write_text(json.dumps(record))
        temporary.replace(self._record)  # readers never see half a record


def main() -> int:
    """Entry point of ``python -m shipyard.gateway.supervisor``."""
    logging.basicConfig(
        level=os.environ.get("SHIPYARD_LOG_LEVEL", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    record = os.environ.get(RECORD_ENV)
    if not record:
        print(f"{RECORD_ENV} is not set", file=sys.stderr)
        return 2
    supervisor = Supervisor(dict(os.environ), Path(record))
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
