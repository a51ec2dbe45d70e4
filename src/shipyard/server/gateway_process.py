"""The gateway process of ``shipyard server``: started, adopted, kept running, stopped.

Part of the composition root (:mod:`shipyard.server`). The gateway runs under its own
supervisor (:mod:`shipyard.gateway.supervisor`) in a session of its own, so it outlives a
crash of the control plane; the next server on the same data directory adopts it when it
serves the very same configuration (its record in the run directory says which), and stops it
otherwise. A server that stops on purpose stops it (:meth:`GatewayKeeper.stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from shipyard.backends import processes
from shipyard.gateway.supervisor import RECORD_ENV, describe
from shipyard.settings import ServerSettings

log = logging.getLogger("shipyard.server")
GATEWAY_STOP_S = 20.0
"""How long the gateway supervisor gets to stop its workers before it is killed."""


def _gateway_metrics_dir(settings: ServerSettings) -> Path | None:
    """Where several gateway processes keep their metrics together (None: one process)."""
    if settings.resolved_gateway_workers < 2:
        return None
    return settings.run_dir / "gateway-metrics"


def _gateway_record(settings: ServerSettings) -> Path:
    return settings.run_dir / "gateway.json"


def gateway_env(settings: ServerSettings, token: str) -> dict[str, str]:
    """The environment of the gateway supervisor (and so of its workers)."""
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    metrics_dir = _gateway_metrics_dir(settings)
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.update(
        {
            RECORD_ENV: str(_gateway_record(settings)),
            "SHIPYARD_GATEWAY_TABLE_CACHE": str(settings.run_dir / "gateway-table.json"),
            "SHIPYARD_GATEWAY_LOAD_FILE": str(settings.run_dir / "gateway-load"),
            "SHIPYARD_GATEWAY_WORKERS": str(settings.resolved_gateway_workers),
            "SHIPYARD_BIND": settings.bind,
            "SHIPYARD_GATEWAY_PORT": str(settings.gateway_port),
            "SHIPYARD_GATEWAY_GRPC_PORT": str(settings.resolved_gateway_grpc_port),
            "SHIPYARD_GATEWAY_INFERENCE_LOG_DIR": str(settings.home / "logs" / "inference"),
            "SHIPYARD_GATEWAY_CONTROL_URL": f"http://{settings.bind}:{settings.api_port}",
            "SHIPYARD_INTERNAL_TOKEN": token,
            "SHIPYARD_GATEWAY_ATTEMPTS": str(settings.gateway_attempts),
            "SHIPYARD_GATEWAY_COLD_START_TIMEOUT_S": str(settings.gateway_cold_start_timeout_s),
            "SHIPYARD_LOG_LEVEL": settings.log_level,
        }
    )
    return env


def _is_gateway_supervisor(pid: int) -> bool:
    if processes.start_ticks(pid) is None:  # gone, or a zombie
        return False
    try:
        return b"shipyard.gateway.supervisor" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class GatewayHandle:
    """The gateway supervisor this server runs: started by it, or adopted from a previous one."""

    def __init__(
        self, pid: int, proc: subprocess.Popen[bytes] | None = None, config: str = ""
    ) -> None:
        self.pid = pid
        self._proc = proc
        self.config = config
        """The configuration digest the gateway recorded (adopted ones)."""

    @classmethod
    def start(cls, env: dict[str, str]) -> GatewayHandle:
        command = [sys.executable, "-m", "shipyard.gateway.supervisor"]
        proc = subprocess.Popen(command, env=env, start_new_session=True)  # outlives a crash
        return cls(proc.pid, proc)

    @classmethod
    def previous(cls, settings: ServerSettings) -> GatewayHandle | None:
        """The gateway a previous server on this data directory left running, if any."""
        try:
            record = json.loads(_gateway_record(settings).read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        handle = cls(pid, config=str(record.get("config", "")))
        return handle if handle.alive() else None

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return _is_gateway_supervisor(self.pid)

    async def stop(self, timeout_s: float = GATEWAY_STOP_S) -> None:
        """SIGTERM (it stops its workers), then SIGKILL of its whole session after
        ``timeout_s``."""
        processes.send_signal(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.alive():
            log.error("the gateway did not stop within %.0f s: killing it", timeout_s)
            self.kill()
        if self._proc is not None:
            await asyncio.to_thread(self._proc.wait)

    def kill(self) -> None:
        """SIGKILL the supervisor and its workers (its own session: the group is its pid)."""
        if self.pid > 1:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)


class GatewayKeeper:
    """The gateway for this server's life: started (or adopted) at once, replaced when its
    supervisor dies, stopped by :meth:`stop` however far the server's start-up got."""

    def __init__(self, env: dict[str, str], adopted: GatewayHandle | None) -> None:
        self._env = env
        self.handle = adopted or GatewayHandle.start(env)

    async def supervise(self) -> None:
        """Keep the gateway supervisor running (it replaces its own workers) until cancelled."""
        while True:
            await asyncio.sleep(0.5)
            if not self.handle.alive():
                log.error(
                    "the gateway supervisor (pid %d) is gone; starting another", self.handle.pid
                )
                self.handle = GatewayHandle.start(self._env)

    async def stop(self) -> None:
        await self.handle.stop()


async def adopt_or_retire_gateway(
    settings: ServerSettings, env: dict[str, str]
) -> GatewayHandle | None:
    """The gateway of a previous server, if it serves this very configuration; one that serves
    another is stopped (its port and token are about to change)."""
    previous = GatewayHandle.previous(settings)
    if previous is None:
        if _gateway_record(settings).exists():  # its supervisor died: its workers follow
            await _port_released(settings, timeout_s=5.0)
        return None
    if previous.config == describe(env):
        log.info("adopting the running gateway (supervisor pid %d)", previous.pid)
        return previous
    log.info("stopping the gateway of a previous server: its settings differ")
    await previous.stop()
    return None


async def _port_released(settings: ServerSettings, timeout_s: float) -> None:
    """Wait (bounded) for the gateway port to be free: orphaned workers exit within a second."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((settings.bind, settings.gateway_port))
                return
            except OSError:
                pass
        await asyncio.sleep(0.1)
