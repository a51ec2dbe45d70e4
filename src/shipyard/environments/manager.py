"""Resolving and building environments: once per key, in the background, shared by deployments.

``status(request)`` never blocks: it answers what the environment of a request is now
(RESOLVING, BUILDING, READY or FAILED) and starts the work when nothing is under way. The
work, per request:

1. resolve base pins + the model's requirements + the runtime's to a lock with
   ``uv pip compile`` (cached by the hash of its inputs, so a restart does not re-resolve);
2. hash (base, lock, Python, platform) to the environment key; a virtualenv with that key
   that is complete (it has its manifest) is reused as it is;
3. otherwise build it with ``uv venv`` + ``uv pip sync`` into a temporary folder, files
   hardlinked from the shared uv cache, then rename it into place. A file lock per key makes
   concurrent builders (tasks or processes) build it once.

The manifest records what a container backend needs for the same environment: the base image
and the locked requirements to install on it.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.environments import requirements, uv
from shipyard.environments.build_log import BoundedLog, Tail, tail
from shipyard.environments.builds import (
    BuildRecords,
    check_build_id,
    info_of,
    interrupted,
    record_of,
    size_of,
)
from shipyard.environments.catalogue import Catalogue
from shipyard.environments.overlay import runtime_overlay
from shipyard.errors import InvalidSpec, NotReady, ShipyardError
from shipyard.settings import ServerSettings
from shipyard.spec.environment import (
    BaseEnvironment,
    BuildState,
    EnvironmentBuild,
    EnvironmentInfo,
    EnvironmentPhase,
)

log = logging.getLogger("shipyard.environments")

MANIFEST = "shipyard-environment.json"
UPLOAD_RESOLVERS = 2  # requirement resolutions at upload running at once
UPLOAD_QUEUE = 8  # uploads allowed to wait for one; more are told to come back


@dataclass(frozen=True)
class EnvironmentRequest:
    """A base environment plus a model's requirement lines (already validated)."""

    base: BaseEnvironment
    requirements: tuple[str, ...] = ()
    source: str = "requirements.txt"


@dataclass
class _Job:
    info: EnvironmentInfo
    log: BoundedLog
    previous: EnvironmentBuild | None  # the record of an earlier attempt (another process)
    task: asyncio.Task[None] | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    size_bytes: int | None = None


class EnvironmentManager:
    """Environments of this server, under ``$SHIPYARD_HOME/environments``."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        catalogue: Catalogue | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self.catalogue = catalogue or Catalogue.load(settings.environments_dir / "catalogue")
        self._root = settings.environments_dir
        self._on_change = on_change
        self._jobs: dict[str, _Job] = {}
        self._records = BuildRecords(self._root / "builds")
        self._key_locks: dict[str, asyncio.Lock] = {}
        self._overlay: Path | None = None
        self._interpreter = sys.executable
        self._resolvers = ThreadPoolExecutor(UPLOAD_RESOLVERS, thread_name_prefix="resolve")
        self._resolutions = uv.Killable()
        self._upload_lock = threading.Lock()
        self._upload_waiting = 0
        self._python_version = ".".join(map(str, sys.version_info[:3]))

    @property
    def runtime_path(self) -> Path:
        """Folder with the replica runtime, to put on ``PYTHONPATH`` of every replica."""
        if self._overlay is None:
            self._overlay = runtime_overlay(self._root / "runtime")
        return self._overlay

    def status(self, request: EnvironmentRequest, *, retry: bool = False) -> EnvironmentInfo:
        """Where the environment of ``request`` is now; starts resolving/building if needed.

        ``retry`` restarts a FAILED one (after the user changed or restarted the deployment).
        """
        rkey = self._request_key(request)
        job = self._jobs.get(rkey)
        if job is None or (retry and job.info.phase is EnvironmentPhase.FAILED):
            job = _Job(
                EnvironmentInfo(
                    base=request.base.ref,
                    build=rkey,
                    requirements=list(request.requirements),
                    phase=EnvironmentPhase.RESOLVING,
                    message="resolving requirements",
                    image=request.base.image,
                ),
                log=BoundedLog(self._root / "logs" / f"{rkey}.log"),
                previous=self._records.get(rkey),
            )
            self._jobs[rkey] = job
            job.log.write(f"--- {job.started:%Y-%m-%d %H:%M:%S} UTC: {request.base.ref} ---")
            self._save(job)
            job.task = asyncio.get_running_loop().create_task(self._work(rkey, request, job))
        return job.info

    def known(self, request: EnvironmentRequest) -> EnvironmentInfo | None:
        """Where the environment of ``request`` is without starting any work (for a deployment
        that does not run): its build under way, or its last recorded build, or None."""
        rkey = self._request_key(request)
        job = self._jobs.get(rkey)
        if job is not None:
            return job.info
        record = self._records.get(rkey)
        return None if record is None else info_of(record)

    def add_base(self, entry: BaseEnvironment) -> None:
        """Add an administrator's base environment (validated: its pins must parse)."""
        for number, line in enumerate(entry.packages, start=1):
            requirements.parse(line, source=f"packages[{number - 1}]")
        self.catalogue = self.catalogue.add(entry)

    def builds(self) -> list[EnvironmentBuild]:
        """Every build this server ran (newest first), live ones with their current step."""
        found = []
        for record in self._records.all():
            job = self._jobs.get(record.id)
            if job is None and record.state is BuildState.BUILDING:
                record = interrupted(record)
            elif job is not None and record.state is BuildState.BUILDING:
                record = record.model_copy(update={"step": job.info.message})
            found.append(record)
        return found

    def build_log(self, build_id: str, *, lines: int, max_bytes: int) -> Tail:
        """The end of one build's log (the caller checked the build is theirs to see)."""
        path = self._root / "logs" / f"{check_build_id(build_id)}.log"
        return tail(BoundedLog(path), lines=lines, max_bytes=max_bytes)

    def set_listener(self, on_change: Callable[[], None]) -> None:
        """Who to tell when an environment changes phase or progresses (the controller)."""
        self._on_change = on_change

    def python(self, key: str) -> Path:
        return self._root / "venvs" / key / "bin" / "python"

    async def close(self) -> None:
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._resolvers.shutdown(wait=False, cancel_futures=True)
        self._resolutions.kill_all()  # else the interpreter's exit waits for them

    # -- the work ---------------------------------------------------------------------------

    async def _work(self, rkey: str, request: EnvironmentRequest, job: _Job) -> None:
        log_file = job.log
        try:
            lock_text = await self._resolve(rkey, request, log_file, job)
            packages = [line for line in lock_text.splitlines() if line and line[0] != "#"]
            key = self._env_key(request.base, lock_text)
            self._update(job, key=key, packages=packages, python=self._python_version)
            reused, seconds = await self._ensure_built(key, request, lock_text, log_file, job)
            job.size_bytes = await asyncio.to_thread(size_of, self._root / "venvs" / key)
            log_file.write(
                "--- ready: "
                + ("reused an environment built before" if reused else f"built in {seconds:.1f} s")
                + " ---"
            )
            self._update(
                job,
                phase=EnvironmentPhase.READY,
                message="reused an existing environment" if reused else f"built in {seconds:.1f} s",
                reused=reused,
                build_seconds=None if reused else round(seconds, 2),
            )
        except asyncio.CancelledError:
            raise
        except uv.UvFailed as exc:
            what = request.base.ref + (f" + {request.source}" if request.requirements else "")
            message = uv.explain(exc, what, rkey)
            self._fail(job, message)
        except ShipyardError as exc:  # e.g. a requirement that excludes the runtime's needs
            self._fail(job, exc.message)
        except Exception as exc:  # a failed build must never take the controller down
            log.exception("environment build failed")
            self._fail(job, f"{type(exc).__name__}: {exc} (build log: {uv.log_hint(rkey)})")

    def _fail(self, job: _Job, message: str) -> None:
        job.log.write(f"--- failed: {message} ---")
        self._update(job, phase=EnvironmentPhase.FAILED, message=message)

    def _update(self, job: _Job, **changes: Any) -> None:
        before = (job.info.phase, job.info.key)
        job.info = job.info.model_copy(update=changes)
        if (job.info.phase, job.info.key) != before:
            self._save(job)
        self._on_change()

    def _save(self, job: _Job) -> None:
        record = record_of(job.info, job.started, job.size_bytes, job.previous)
        if record is not None:
            self._records.save(record)

    async def _resolve(
        self, rkey: str, request: EnvironmentRequest, log_file: BoundedLog, job: _Job
    ) -> str:
        lock_file = self._root / "locks" / f"{rkey}.txt"
        if lock_file.is_file():
            log_file.write("(the requirements were resolved before: using that lock)")
            return lock_file.read_text(encoding="utf-8")
        out = await uv.run(
            self._compile_args(rkey, request),
            env=uv.uv_env(self._settings),
            log=log_file,
            timeout_s=self._settings.environment_build_timeout_s,
            on_line=lambda line: self._progress(job, "resolving", line),
        )
        _write_atomic(lock_file, out)
        return out

    def check_resolvable(self, request: EnvironmentRequest) -> list[str]:
        """Resolve now (at upload time) on the resolver pool, never on the caller's thread nor
        the event loop, at most ``UPLOAD_RESOLVERS`` at once; the locked packages.

        Raises:
            InvalidSpec: The requirements are malformed, exclude the runtime's needs, or have
                no solution (uv's explanation in the message).
            NotReady: ``UPLOAD_QUEUE`` resolutions already wait (try again shortly).
        """
        with self._upload_lock:
            if self._upload_waiting >= UPLOAD_QUEUE:
                raise NotReady(
                    f"{self._upload_waiting} uploads are resolving their requirements: "
                    "try again in a moment"
                )
            self._upload_waiting += 1
        try:
            return self._resolvers.submit(self._resolve_now, request).result()
        finally:
            with self._upload_lock:
                self._upload_waiting -= 1

    @property
    def uploads_waiting(self) -> int:
        """Uploads waiting for (or running) their requirements' resolution."""
        return self._upload_waiting

    def _resolve_now(self, request: EnvironmentRequest) -> list[str]:
        rkey = self._request_key(request)
        lock_file = self._root / "locks" / f"{rkey}.txt"
        if not lock_file.is_file():
            args = self._compile_args(rkey, request)
            done = self._resolutions.run(
                [uv.uv_binary(), *args],
                env={**uv.base_env(), **uv.uv_env(self._settings)},
                timeout_s=self._settings.environment_build_timeout_s,
            )
            log = BoundedLog(self._root / "logs" / f"{rkey}.log")  # the build's log, resolved
            log.write(f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: resolved at upload ---")
            for line in [f"$ uv {' '.join(args)}", *done.stderr.splitlines()]:
                log.write(line)
            if done.returncode != 0:
                failed = uv.UvFailed("uv pip compile failed", done.stderr)
                what = f"{request.base.ref} + {request.source}"
                raise InvalidSpec(
                    uv.explain(failed, what, None),
                    details={"errors": [{"field": request.source, "value": "unsatisfiable"}]},
                )
            _write_atomic(lock_file, done.stdout)
        text = lock_file.read_text(encoding="utf-8")
        return [line for line in text.splitlines() if line and line[0] != "#"]

    def _compile_args(self, rkey: str, request: EnvironmentRequest) -> list[str]:
        """``uv pip compile`` of base + model + runtime requirements (their merge checked)."""
        parsed = requirements.parse("\n".join(request.requirements), source=request.source)
        merged = requirements.merge(
            request.base.packages, parsed, requirements.runtime_requirements()
        )
        source = self._root / "locks" / f"{rkey}.in"
        _write_atomic(source, "\n".join(merged) + "\n")
        return [
            "pip", "compile", str(source), "--no-header", "--no-annotate",
            "--python", self._python_for(request.base), *uv.index_args(self._settings),
        ]  # fmt: skip

    async def _ensure_built(
        self, key: str, request: EnvironmentRequest, lock_text: str, log_file: BoundedLog, job: _Job
    ) -> tuple[bool, float]:
        venvs = self._root / "venvs"
        target = venvs / key
        if (target / MANIFEST).is_file():
            return True, 0.0
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        async with lock:  # one build per key in this process ...
            venvs.mkdir(parents=True, exist_ok=True)
            with (venvs / f"{key}.lock").open("w") as held:
                # ... and across processes sharing this data directory
                await asyncio.to_thread(fcntl.flock, held, fcntl.LOCK_EX)
                if (target / MANIFEST).is_file():
                    return True, 0.0
                self._update(job, phase=EnvironmentPhase.BUILDING, message="creating virtualenv")
                started = time.monotonic()
                await self._build(key, request, lock_text, log_file, job)
                return False, time.monotonic() - started

    async def _build(
        self, key: str, request: EnvironmentRequest, lock_text: str, log_file: BoundedLog, job: _Job
    ) -> None:
        venvs = self._root / "venvs"
        tmp = venvs / f".{key}.building"
        shutil.rmtree(tmp, ignore_errors=True)
        timeout = self._settings.environment_build_timeout_s
        on_line: Callable[[str], None] = lambda line: self._progress(job, "installing", line)  # noqa: E731
        try:
            await uv.run(
                ["venv", str(tmp), "--python", self._python_for(request.base), "--relocatable",
                 "--no-project"],
                env=uv.uv_env(self._settings), log=log_file, timeout_s=timeout, on_line=on_line,
            )  # fmt: skip
            lock_path = tmp / "requirements.lock"
            lock_path.write_text(lock_text, encoding="utf-8")
            await uv.run(
                ["pip", "sync", str(lock_path), "--python", str(tmp / "bin" / "python"),
                 "--link-mode", "hardlink", *uv.index_args(self._settings)],
                env=uv.uv_env(self._settings), log=log_file, timeout_s=timeout, on_line=on_line,
            )  # fmt: skip
            manifest = {
                "key": key,
                "base": request.base.ref,
                "image": request.base.image,
                "python": self._python_version,
                "platform": uv.platform_tag(),
                "requirements": list(request.requirements),
                "lock": lock_text,
                "built_at": time.time(),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            tmp.rename(venvs / key)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    # -- keys and arguments ------------------------------------------------------------------

    def _request_key(self, request: EnvironmentRequest) -> str:
        inputs = {
            "base": request.base.ref,
            "packages": request.base.packages,
            "python": request.base.python or self._python_version,
            "requirements": list(request.requirements),
            "runtime": [str(r) for r in requirements.runtime_requirements()],
            "platform": uv.platform_tag(),
            "index": uv.index_args(self._settings),
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]

    def _env_key(self, base: BaseEnvironment, lock_text: str) -> str:
        inputs = [base.ref, lock_text, base.python or self._python_version, uv.platform_tag()]
        return hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:16]

    def _python_for(self, base: BaseEnvironment) -> str:
        return base.python or self._interpreter

    def _progress(self, job: _Job, doing: str, line: str) -> None:
        if uv.PROGRESS.match(line):
            self._update(job, message=f"{doing}: {line}")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
