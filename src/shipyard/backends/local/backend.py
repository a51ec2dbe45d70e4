"""The LOCAL backend's replicas as processes: started (or forked by a zygote), health-checked,
adopted after a restart, stopped.

Part of :mod:`shipyard.backends.local` (its docstring describes the files a replica leaves in
``run/replicas/`` and the logs). How a replica ended is read by
:mod:`~shipyard.backends.local.endings`; its usage and timings by
:mod:`~shipyard.backends.local.readings`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import httpx

from shipyard.backends import processes
from shipyard.backends.adopted_tokens import (
    current_digest,
    digest_extra,
    outdated_if_token_changed,
)
from shipyard.backends.commands import (
    base_environment,
    replica_command,
    replica_variables,
    socket_path,
)
from shipyard.backends.identity import Identities, Identity
from shipyard.backends.launcher import launch_command
from shipyard.backends.limits import Enforcement, Enforcer
from shipyard.backends.local.endings import Endings
from shipyard.backends.local.readings import runtime_timings, usage_sample
from shipyard.backends.logfiles import LogFiles, write_atomic
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
from shipyard.wire.replica_token import HEADER as TOKEN_HEADER
from shipyard.wire.replica_token import ReplicaTokens, write_token_file

UNBOUND = 0  # the port of a replica's URL until it reports the one it bound


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
        clock: Callable[[], float] = time.monotonic,
        kill: Callable[[int, int], None] = os.kill,
        replica_secret: str | None = None,
        identities: Identities | None = None,
    ) -> None:
        self._identities = identities
        self._capacity = capacity
        self._tokens = None if replica_secret is None else ReplicaTokens(replica_secret)
        self._enforcer = enforcer
        self._limits: dict[str, Enforcement] = {}
        self._run_dir = run_dir / "replicas"
        self._logs = LogFiles(logs_dir)
        self._host = host
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._zygotes = zygotes
        self._kinds: dict[str, tuple[str, dict[str, str], str]] = {}
        """Replicas started as processes, until ready: the zygote their kind then gets."""
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=0.5))
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._kill = kill
        self._warming: set[asyncio.Task[None]] = set()
        self._endings = Endings(self._run_dir, self._logs, clock)

    def log_path(self, deployment_id: str, component: str, replica_id: str) -> Path:
        return self._logs.path(deployment_id, component, replica_id)

    async def start(self, spec: ReplicaSpec) -> ReplicaRef:
        log_path = self.log_path(spec.deployment_id, spec.component, spec.replica_id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        res = spec.resources
        limits = self._enforcer.prepare(spec.replica_id, res.requests, res.limits)
        identity, folder, command = self._command(spec)
        socket = socket_path(folder, spec.replica_id)
        base = base_environment(spec, home=None if identity is None else identity.home)
        env = {**base, **replica_variables(spec), **limits.env()}
        try:  # a zygote's forks share its uid: with identities every replica is a process
            pid = None if identity else await self._fork(spec, command, base, env, log_path, limits)
            started_by = "zygote"
            if pid is None:
                with log_path.open("ab") as log:
                    child = subprocess.Popen(  # no preexec_fn: the launcher confines it
                        launch_command(
                            limits.fork_setup(), command, uid=identity.uid if identity else None
                        ),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        cwd=spec.model_dir,
                        start_new_session=True,
                    )
                pid, started_by = child.pid, "process"
                self._children[spec.replica_id] = child
                self._kinds[spec.replica_id] = (command[0], base, spec.framework)
        except BaseException:
            limits.release()
            raise
        limits.started(pid)
        self._limits[spec.replica_id] = limits
        ref = spec.ref(
            f"http://{self._host}:{UNBOUND}",  # until the replica says which port it bound
            pid=pid,
            extra={
                "ticks": str(processes.start_ticks(pid) or ""),
                "started_by": started_by,
                "requests": res.requests.model_dump_json(),
                "limits": res.limits.model_dump_json(),
                "gpus": ",".join(limits.gpus),
                "enforcement": limits.mode,
                "project": spec.project_id,
                "dir": str(folder),
                **digest_extra(current_digest(self._tokens, spec.project_id)),
                **({"socket": str(socket)} if socket is not None else {}),
            },
        )
        write_atomic(self._handle_file(spec.replica_id), json.dumps(asdict(ref)))
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
        exit_file = self._endings.exit_file(spec.replica_id)
        exit_file.unlink(missing_ok=True)
        request = ForkRequest(
            argv=command[3:],  # after "<python> -m shipyard.runtime"
            env=env,
            cwd=spec.model_dir,
            log=log_path,
            exit_file=exit_file,
            setup=limits.fork_setup(),
        )
        memory = spec.resources.limits.memory
        limit = memory * 1024 * 1024 if memory > 0 else None
        return await self._zygotes.fork(
            command[0], base, spec.framework, request, limit_bytes=limit
        )

    def _command(self, spec: ReplicaSpec) -> tuple[Identity | None, Path, list[str]]:
        """The replica's identity (None: the server's), its files' folder and its command
        line, with its admission token written there for it."""
        identity = None
        if self._identities is not None:
            identity = self._identities.prepare(spec.project_id, spec.model_dir)
        folder = self._run_dir if identity is None else identity.home
        address = folder / f"{spec.replica_id}.addr"
        address.unlink(missing_ok=True)
        socket = socket_path(folder, spec.replica_id)
        command = replica_command(spec, self._host, address, socket)
        if self._tokens is not None:
            token_file = folder / f"{spec.replica_id}.token"
            write_token_file(token_file, self._tokens(spec.project_id))
            if identity is not None:
                os.chown(token_file, identity.uid, identity.gid)
            command += ["--token-file", str(token_file)]
        return identity, folder, command

    def _handle_file(self, replica_id: str) -> Path:
        return self._run_dir / f"{replica_id}.json"

    def _address_file(self, ref: ReplicaRef) -> Path:
        folder = Path(ref.extra["dir"]) if "dir" in ref.extra else self._run_dir
        return folder / f"{ref.replica_id}.addr"

    def _url_of(self, ref: ReplicaRef) -> str | None:
        """Where the replica serves: its handle's URL, else the port it reported having bound
        (the handle is then rewritten, for adoption); None until it did."""
        if not ref.url.endswith(f":{UNBOUND}"):
            return ref.url
        try:
            address = self._address_file(ref).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        url = f"http://{address}"
        learnt = dataclasses.replace(ref, url=url)
        write_atomic(self._handle_file(ref.replica_id), json.dumps(asdict(learnt)))
        return url

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
        if ref.extra.get("started_by") != "zygote":
            return False, self._exit(ref, None)
        ended, code = self._endings.forked_exit(ref.replica_id)
        return (False, self._exit(ref, code)) if ended else (True, None)

    def _exit(self, ref: ReplicaRef, code: int | None) -> ReplicaExit:
        return self._endings.describe(ref, code, self._limits.get(ref.replica_id))

    def usage(self, ref: ReplicaRef) -> UsageSample | None:
        limits = self._limits.get(ref.replica_id)
        return None if limits is None else usage_sample(ref, limits)

    async def health(self, ref: ReplicaRef) -> ReplicaHealth:
        alive, exit_ = self._alive(ref)
        if not alive:
            return ReplicaHealth(Health.EXITED, exit_)
        url = self._url_of(ref)
        if url is None:
            return ReplicaHealth(Health.STARTING)  # not listening yet
        learnt = url if url != ref.url else None
        try:
            answer = await self._client.get(f"{url}/v2/health/ready", headers=self._token(ref))
        except httpx.HTTPError:
            return ReplicaHealth(Health.STARTING, url=learnt)
        if answer.status_code != 200:
            return ReplicaHealth(Health.STARTING, url=learnt)
        kind = self._kinds.pop(ref.replica_id, None)
        if kind is not None and self._zygotes is not None:
            used = self.usage(ref)  # a whole process's footprint: what its kind needs
            self._warm(kind, used.memory_bytes if used is not None else None)
        return ReplicaHealth(Health.READY, url=learnt, timings=runtime_timings(answer))

    def _token(self, ref: ReplicaRef) -> dict[str, str]:
        """The admission header of ``ref``'s project (none without a secret)."""
        project = ref.extra.get("project")
        if self._tokens is None or project is None:
            return {}
        return {TOKEN_HEADER.decode(): self._tokens(project).decode()}

    def _warm(self, kind: tuple[str, dict[str, str], str], footprint: int | None) -> None:
        """Have the zygote of ``kind`` started in the background (a health check only reports:
        it never starts a process itself, nor waits for one)."""
        zygotes = self._zygotes
        if zygotes is None:
            return
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(zygotes.ensure, *kind, footprint)
        )
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def stop(self, ref: ReplicaRef, *, grace_s: float) -> ReplicaExit:
        """SIGTERM (the runtime drains in-flight requests), then SIGKILL after ``grace_s``."""
        alive, exit_ = self._alive(ref)
        if alive and ref.pid is not None:
            processes.send_signal(ref.pid, signal.SIGTERM, kill=self._kill)
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                alive, exit_ = self._alive(ref)
                if not alive:
                    break
                await asyncio.sleep(0.05)
            else:
                processes.send_signal(ref.pid, signal.SIGKILL, kill=self._kill)
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
        self._endings.forget(ref.replica_id)
        limits = self._limits.pop(ref.replica_id, None)
        if limits is not None:
            limits.release()
        self._handle_file(ref.replica_id).unlink(missing_ok=True)
        self._address_file(ref).unlink(missing_ok=True)
        self._address_file(ref).with_suffix(".token").unlink(missing_ok=True)  # if never read
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
                ref = ReplicaRef(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                path.unlink(missing_ok=True)
                continue
            current = current_digest(self._tokens, ref.extra.get("project"))
            refs.append(outdated_if_token_changed(ref, current))
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
        return self._logs.lines(deployment_id, component, tail)

    def forget_logs(self, deployment_id: str) -> None:
        self._logs.forget(deployment_id)

    async def close(self) -> None:
        if self._warming:
            await asyncio.gather(*self._warming, return_exceptions=True)
        await self._client.aclose()
        if self._zygotes is not None:
            self._zygotes.close()
        self._enforcer.close()
