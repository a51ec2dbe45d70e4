"""LOCAL serving tool: each replica is a child process running the Shipyard replica runtime.

Replicas run in their own session (so a crash of the server does not take them down) with
stdout and stderr appended to ``logs/<deployment>/<component>/<replica>.log``. A handle file in
``run/replicas/`` records pid, start time and port, so a restarted server adopts replicas that
still run (a reused pid is told apart by its start time) instead of starting duplicates.

With :class:`~shipyard.backends.zygotes.Zygotes`, a replica whose kind of process started before
is forked from a pre-imported parent instead (same session, environment, limits and log file);
its exit code then comes from the file the zygote writes when it reaps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path

import httpx

from shipyard.backends import processes
from shipyard.backends.limits import Enforcement, Enforcer
from shipyard.backends.protocol import (
    Health,
    LogLine,
    ReplicaHealth,
    ReplicaRef,
    ReplicaSpec,
    UsageSample,
)
from shipyard.backends.zygotes import ForkRequest, Zygotes
from shipyard.spec.capacity import Capacity
from shipyard.spec.resources import Resources
from shipyard.spec.status import ReplicaExit


class LocalBackend:
    """Runs replicas as local processes on loopback ports."""

    def __init__(
        self,
        *,
        run_dir: Path,
        logs_dir: Path,
        capacity: Capacity,
        enforcer: Enforcer,
        host: str = "127.0.0.1",
        zygotes: Zygotes | None = None,
    ) -> None:
        self._capacity = capacity
        self._enforcer = enforcer
        self._limits: dict[str, Enforcement] = {}
        self._run_dir = run_dir / "replicas"
        self._logs_dir = logs_dir
        self._host = host
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._zygotes = zygotes
        self._kinds: dict[str, tuple[str, dict[str, str], str]] = {}
        """Replicas started as processes, until ready: the zygote their kind then gets."""
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=0.5))
        self._run_dir.mkdir(parents=True, exist_ok=True)

    def log_path(self, deployment_id: str, component: str, replica_id: str) -> Path:
        return self._logs_dir / deployment_id / component / f"{replica_id}.log"

    def _base_environment(self, spec: ReplicaSpec) -> dict[str, str]:
        """What every replica on this interpreter shares (and its zygote runs with): the
        server's environment without ``SHIPYARD_*``, plus a built environment's venv and the
        runtime overlay."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env["PYTHONUNBUFFERED"] = "1"
        if spec.python is not None:  # a built environment: its venv plus the runtime overlay
            env.pop("PYTHONPATH", None)
            venv = Path(spec.python).parent.parent
            env["VIRTUAL_ENV"] = str(venv)
            env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            if spec.runtime_path is not None:
                env["PYTHONPATH"] = str(spec.runtime_path)
        return env

    @staticmethod
    def _replica_variables(spec: ReplicaSpec) -> dict[str, str]:
        """The variables of this one replica (contract section 1)."""
        script = str(spec.model_dir / spec.script_file) if spec.script_file else ""
        return {
            "MODEL_FILES_PATH": str(spec.model_dir),
            "ARTIFACT_FILES_PATH": str(spec.model_dir),
            "DEPLOYMENT_NAME": spec.deployment_name,
            "DEPLOYMENT_VERSION": str(spec.revision),
            "MODEL_NAME": spec.model_name,
            "MODEL_VERSION": str(spec.model_version),
            "SCRIPT_PATH": script,
            "IS_TRANSFORMER": "true" if spec.component == "transformer" else "false",
            "SHIPYARD_REPLICA_ID": spec.replica_id,
        }

    def _socket_path(self, replica_id: str) -> Path | None:
        """The replica's Unix socket for the gateway, or None when the path is too long."""
        path = self._run_dir / f"{replica_id}.sock"
        return path if len(str(path)) <= processes.MAX_SOCKET_PATH else None

    def _command(self, spec: ReplicaSpec, port: int, socket: Path | None) -> list[str]:
        cmd = [spec.python or sys.executable, "-m", "shipyard.runtime", "--host", self._host]
        cmd += ["--port", str(port), "--component", spec.component]
        if socket is not None:
            cmd += ["--unix-socket", str(socket)]
        cmd += ["--name", spec.deployment_name, "--framework", spec.framework]
        if spec.script_file:
            cmd += ["--script", str(spec.model_dir / spec.script_file)]
        batching = spec.batching
        if batching is not None and batching.enabled:
            cmd += ["--max-batch-size", str(batching.batch_size)]
            cmd += ["--max-latency-ms", f"{batching.latency_ms:g}"]
            cmd += ["--batch-timeout-s", f"{batching.timeout_s:g}"]
        return cmd

    async def start(self, spec: ReplicaSpec) -> ReplicaRef:
        port = processes.free_port(self._host)
        log_path = self.log_path(spec.deployment_id, spec.component, spec.replica_id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        res = spec.resources
        limits = self._enforcer.prepare(spec.replica_id, res.requests, res.limits)
        socket = self._socket_path(spec.replica_id)
        command = self._command(spec, port, socket)
        base = self._base_environment(spec)
        env = {**base, **self._replica_variables(spec), **limits.env()}
        try:
            pid = await self._fork(spec, command, base, env, log_path, limits)
            started_by = "zygote"
            if pid is None:
                with log_path.open("ab") as log:
                    child = subprocess.Popen(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        cwd=spec.model_dir,
                        start_new_session=True,
                        preexec_fn=limits.preexec,  # joins its cgroup before exec: never unlimited
                    )
                pid, started_by = child.pid, "process"
                self._children[spec.replica_id] = child
                self._kinds[spec.replica_id] = (command[0], base, spec.framework)
        except BaseException:
            limits.release()
            raise
        limits.started(pid)
        self._limits[spec.replica_id] = limits
        ref = ReplicaRef(
            replica_id=spec.replica_id,
            deployment_id=spec.deployment_id,
            component=spec.component,
            slot=spec.slot,
            revision=spec.revision,
            template=spec.template,
            url=f"http://{self._host}:{port}",
            pid=pid,
            started_at=time.time(),
            extra={
                "ticks": str(processes.start_ticks(pid) or ""),
                "started_by": started_by,
                "requests": res.requests.model_dump_json(),
                "limits": res.limits.model_dump_json(),
                "gpus": ",".join(limits.gpus),
                "enforcement": limits.mode,
                **({"socket": str(socket)} if socket is not None else {}),
            },
        )
        self._handle_file(spec.replica_id).write_text(json.dumps(asdict(ref)))
        return ref

    async def _fork(
        self,
        spec: ReplicaSpec,
        command: list[str],
        base: dict[str, str],
        env: dict[str, str],
        log_path: Path,
        limits: Enforcement,
    ) -> int | None:
        """The pid of the replica forked by a zygote, or None to start it as a process."""
        if self._zygotes is None:
            return None
        exit_file = self._exit_file(spec.replica_id)
        exit_file.unlink(missing_ok=True)
        request = ForkRequest(
            argv=command[3:],  # after "<python> -m shipyard.runtime"
            env=env,
            cwd=spec.model_dir,
            log=log_path,
            exit_file=exit_file,
            setup=limits.fork_setup(),
        )
        return await self._zygotes.fork(command[0], base, spec.framework, request)

    def _handle_file(self, replica_id: str) -> Path:
        return self._run_dir / f"{replica_id}.json"

    def _exit_file(self, replica_id: str) -> Path:
        return self._run_dir / f"{replica_id}.exit"

    def _exit_code(self, replica_id: str) -> int | None:
        """The code a zygote recorded for a replica it forked (it writes it when it reaps)."""
        path = self._exit_file(replica_id)
        for _ in range(20):  # gone but not reaped yet: the zygote writes within milliseconds
            with contextlib.suppress(OSError, ValueError):
                return int(path.read_text())
            if not path.parent.is_dir():
                break
            time.sleep(0.01)
        return None

    def _alive(self, ref: ReplicaRef) -> tuple[bool, ReplicaExit | None]:
        child = self._children.get(ref.replica_id)
        if child is not None:
            code = child.poll()
            return (True, None) if code is None else (False, self._exit(ref, code))
        if ref.pid is None:
            return False, self._exit(ref, None)
        ticks = int(ref.extra["ticks"]) if ref.extra.get("ticks") else None
        if processes.is_same_process(ref.pid, ticks):
            return True, None
        forked = ref.extra.get("started_by") == "zygote"
        return False, self._exit(ref, self._exit_code(ref.replica_id) if forked else None)

    def _exit(self, ref: ReplicaRef, code: int | None) -> ReplicaExit:
        """How it ended: OOMKilled (with limit and peak) when its limits say so."""
        exit_ = processes.describe_exit(code)
        limits = self._limits.get(ref.replica_id)
        reason = limits.exit_reason(code) if limits is not None else None
        if reason is None:
            return exit_
        return exit_.model_copy(update={"reason": reason[0], "message": reason[1]})

    def usage(self, ref: ReplicaRef) -> UsageSample | None:
        limits = self._limits.get(ref.replica_id)
        if limits is None:
            return None
        try:
            used = limits.usage(ref.pid)
        except OSError:
            return None
        requests, given = _given(ref)
        in_force = None
        if given is not None:  # what it runs with: the limits read back where enforced
            memory = used.memory_limit_bytes
            in_force = Resources(
                cores=used.cpu_limit_cores if used.cpu_limit_cores is not None else given.cores,
                memory=round(memory / (1024 * 1024)) if memory is not None else given.memory,
                gpus=len(limits.gpus),
            )
        return UsageSample(
            cpu_seconds=used.cpu_seconds,
            memory_bytes=used.memory_bytes,
            memory_peak_bytes=used.memory_peak_bytes,
            enforcement=limits.mode,
            note=limits.note,
            cpus=tuple(limits.cpus),
            requests=requests,
            limits=in_force,
        )

    async def health(self, ref: ReplicaRef) -> ReplicaHealth:
        alive, exit_ = self._alive(ref)
        if not alive:
            return ReplicaHealth(Health.EXITED, exit_)
        try:
            answer = await self._client.get(f"{ref.url}/v2/health/ready")
        except httpx.HTTPError:
            return ReplicaHealth(Health.STARTING)
        if answer.status_code != 200:
            return ReplicaHealth(Health.STARTING)
        kind = self._kinds.pop(ref.replica_id, None)
        if kind is not None and self._zygotes is not None:
            self._zygotes.ensure(*kind)  # its kind's next replicas are forked
        return ReplicaHealth(Health.READY)

    async def stop(self, ref: ReplicaRef, *, grace_s: float) -> ReplicaExit:
        """SIGTERM (the runtime drains in-flight requests), then SIGKILL after ``grace_s``."""
        alive, exit_ = self._alive(ref)
        if alive and ref.pid is not None:
            processes.send_signal(ref.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                alive, exit_ = self._alive(ref)
                if not alive:
                    break
                await asyncio.sleep(0.05)
            else:
                processes.send_signal(ref.pid, signal.SIGKILL)
                for _ in range(100):
                    alive, exit_ = self._alive(ref)
                    if not alive:
                        break
                    await asyncio.sleep(0.02)
        self._forget(ref)
        return exit_ or processes.describe_exit(None)

    def _forget(self, ref: ReplicaRef) -> None:
        self._children.pop(ref.replica_id, None)
        self._kinds.pop(ref.replica_id, None)
        limits = self._limits.pop(ref.replica_id, None)
        if limits is not None:
            limits.release()
        self._handle_file(ref.replica_id).unlink(missing_ok=True)
        self._exit_file(ref.replica_id).unlink(missing_ok=True)
        if "socket" in ref.extra:  # left behind when the replica was killed
            Path(ref.extra["socket"]).unlink(missing_ok=True)

    def discard(self, ref: ReplicaRef) -> None:
        """Forget a replica that has exited on its own."""
        self._forget(ref)

    async def list_replicas(self) -> list[ReplicaRef]:
        """Replicas recorded by handle files; live ones not started by us are adopted."""
        refs: list[ReplicaRef] = []
        for path in sorted(self._run_dir.glob("*.json")):
            try:
                refs.append(ReplicaRef(**json.loads(path.read_text())))
            except (OSError, ValueError, TypeError):
                path.unlink(missing_ok=True)
        for ref in refs:
            if ref.replica_id not in self._limits and ref.pid and self._alive(ref)[0]:
                self._adopt_limits(ref, ref.pid)
        self._enforcer.sweep(set(self._limits))
        return refs

    def _adopt_limits(self, ref: ReplicaRef, pid: int) -> None:
        try:
            requests = Resources.model_validate_json(ref.extra["requests"])
            limits = Resources.model_validate_json(ref.extra["limits"])
        except (KeyError, ValueError):
            return
        gpus = [g for g in ref.extra.get("gpus", "").split(",") if g]
        self._limits[ref.replica_id] = self._enforcer.adopt(
            ref.replica_id, requests, limits, pid=pid, gpus=gpus
        )

    def capacity(self) -> Capacity:
        return self._capacity

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        folder = self._logs_dir / deployment_id / component
        files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
        out: list[LogLine] = []
        for path in files:
            replica_id = path.stem
            for line in _tail(path, tail):
                out.append(LogLine(replica_id=replica_id, line=line))
        return out

    def forget_logs(self, deployment_id: str) -> None:
        folder = self._logs_dir / deployment_id
        if folder.is_dir():
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            folder.rmdir()

    async def close(self) -> None:
        await self._client.aclose()
        if self._zygotes is not None:
            self._zygotes.close()
        self._enforcer.close()


def _given(ref: ReplicaRef) -> tuple[Resources | None, Resources | None]:
    """The requests and limits a replica was started with (from its handle)."""
    try:
        requests = Resources.model_validate_json(ref.extra["requests"])
        limits = Resources.model_validate_json(ref.extra["limits"])
    except (KeyError, ValueError):
        return None, None
    return requests, limits


def _tail(path: Path, lines: int, chunk: int = 65536) -> list[str]:
    """The last ``lines`` lines of a text file, reading only its end."""
    if lines <= 0:
        return []
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - chunk * max(1, lines // 500 + 1)))
        data = handle.read()
    text = data.decode("utf-8", errors="replace").splitlines()
    return list(deque(text, maxlen=lines))
