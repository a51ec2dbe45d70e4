"""Pre-imported replica parents for the LOCAL backend: fork a replica instead of starting Python.

A replica's start is mostly imports (Python, numpy, SciPy, scikit-learn: over a second on a small
machine), paid again by every scale-up, restart and wake-up from zero. The backend keeps one zygote
(``python -m shipyard.runtime.zygote``) per interpreter, ``PYTHONPATH`` and preload set, started
once the first replica of that kind is ready (that replica starts normally, without a zygote's
imports competing for the CPU), and forks later replicas from it: the child has the libraries
imported already and only loads its model.

A start that finds its zygote still importing waits for it (a few seconds at most, and only
while the zygote is young): it is ready sooner than a new process importing the same libraries
beside it. Whenever a zygote is not ready by then, died, or answers badly, :meth:`Zygotes.fork`
returns None and the backend starts the replica the normal way: a zygote can make a start
faster, never fail it. A
zygote costs the memory of its imports (~100 MB for scikit-learn) while it lives, shared copy-on-
write with the replicas it forked; it dies with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shipyard.backends import processes
from shipyard.backends.limits.modes import THREAD_VARS

MIB = 1024 * 1024
log = logging.getLogger(__name__)

PRELOAD: dict[str, tuple[str, ...]] = {
    "sklearn": (
        "numpy",
        "scipy",
        "joblib",
        "sklearn.base",
        "sklearn.utils.validation",
        "sklearn.linear_model",
        "sklearn.ensemble",
        "sklearn.tree",
        "sklearn.pipeline",
        "sklearn.preprocessing",
    ),
    "xgboost": ("numpy", "xgboost"),
    "lightgbm": ("numpy", "lightgbm"),
    "python": ("numpy",),
}
"""What a zygote imports, by the replica's ``--framework`` (a module missing is skipped)."""

_SINGLE_THREADED = dict.fromkeys(THREAD_VARS, "1")


@dataclass(frozen=True, slots=True)
class ForkRequest:
    """One replica to fork: what ``python -m shipyard.runtime`` would have been started with."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    exit_file: Path
    setup: dict[str, list[str] | list[int] | int]
    """Cgroup files to join, CPUs, thread-pool size (``Enforcement.fork_setup``)."""


@dataclass
class _Zygote:
    proc: subprocess.Popen[bytes]
    socket: Path
    started: float
    """``time.monotonic()`` at its start."""

    def ready(self) -> bool:
        return self.proc.poll() is None and self.socket.exists()

    async def wait_ready(self, until: float) -> bool:
        """Whether it is ready by ``until`` (monotonic), polled every 20 ms (bounded)."""
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() >= until:
                return False
            await asyncio.sleep(0.02)
        return True


class Zygotes:
    """The zygotes of one backend (see the module docstring)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        answer_timeout_s: float = 5.0,
        wait_s: float = 3.0,
        starting_s: float = 6.0,
    ) -> None:
        """Keep zygotes under ``run_dir/zygotes``.

        Args:
            answer_timeout_s: longest wait for a zygote's answer to a fork.
            wait_s: longest a start waits for a zygote that is still importing (it is ready
                sooner than a new process that imports the same libraries beside it).
            starting_s: no start waits for a zygote this long after the zygote's start (one
                that takes longer is slow or stuck: replicas start normally meanwhile).
        """
        self._dir = run_dir / "zygotes"
        self._timeout_s = answer_timeout_s
        self._wait_s = wait_s
        self._starting_s = starting_s
        self._zygotes: dict[str, _Zygote] = {}
        self._footprints: dict[str, int] = {}
        """Memory of a ready replica of each kind started as a whole process (bytes)."""

    def _key(self, python: str, env: dict[str, str], framework: str) -> tuple[str, tuple[str, ...]]:
        preload = PRELOAD.get(framework, ())
        identity = "\0".join(
            [python, env.get("PYTHONPATH", ""), env.get("VIRTUAL_ENV", ""), *preload]
        )
        return hashlib.sha256(identity.encode()).hexdigest()[:16], preload

    def ensure(
        self, python: str, env: dict[str, str], framework: str, footprint: int | None = None
    ) -> None:
        """Start the zygote for this kind of replica unless it runs.

        Called once a replica of the kind is ready, so the zygote's imports never compete with
        that replica's own start for the CPU; ``footprint`` is that replica's memory (bytes),
        the least a replica of the kind needs when it is not forked.
        """
        key, preload = self._key(python, env, framework)
        if footprint:
            self._footprints[key] = max(footprint, self._footprints.get(key, 0))
        zygote = self._zygotes.get(key)
        if zygote is None or zygote.proc.poll() is not None:
            self._start(key, python, env, preload)

    async def fork(
        self,
        python: str,
        env: dict[str, str],
        framework: str,
        request: ForkRequest,
        *,
        limit_bytes: int | None = None,
    ) -> int | None:
        """Fork the replica from the zygote for ``python``/``env``/``framework``.

        ``env`` is what every replica of the kind shares (the zygote runs with it); the replica's
        own variables travel in ``request``. A forked replica shares the zygote's imported
        libraries, whose memory is charged to the zygote: one whose memory limit is below what
        a replica of its kind needs as a whole process is never forked, so its limit holds
        here as on every other serving tool (it is charged its whole footprint).

        Returns:
            The replica's pid, or None: start it the normal way (no zygote of this kind is
            ready, it could not fork, or the limit is below the kind's footprint).
        """
        key, _ = self._key(python, env, framework)
        zygote = self._zygotes.get(key)
        if zygote is None:
            return None
        footprint = self._footprints.get(key)
        if limit_bytes is not None and footprint is not None and limit_bytes < footprint:
            log.info(
                "replica limit %d MiB is below its kind's footprint of %d MiB: not forked",
                limit_bytes // MIB,
                footprint // MIB,
            )
            return None
        until = min(time.monotonic() + self._wait_s, zygote.started + self._starting_s)
        if not await zygote.wait_ready(until):
            return None
        try:
            return await asyncio.wait_for(self._ask(zygote.socket, request), self._timeout_s)
        except (OSError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            log.warning("zygote %s could not fork a replica (%r): starting it normally", key, exc)
            return None

    def _start(self, key: str, python: str, env: dict[str, str], preload: tuple[str, ...]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        socket_path = self._dir / f"{key}.sock"
        if len(str(socket_path)) > processes.MAX_SOCKET_PATH:
            return  # too long for AF_UNIX: replicas of this kind always start normally
        socket_path.unlink(missing_ok=True)
        with (self._dir / f"{key}.log").open("ab") as out:
            proc = subprocess.Popen(
                [
                    *(python, "-m", "shipyard.runtime.zygote"),
                    *("--socket", str(socket_path), "--preload", ",".join(preload)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={
                    **env,
                    **_SINGLE_THREADED,
                    "CUDA_VISIBLE_DEVICES": "",  # a zygote never touches a GPU
                },
                cwd=self._dir,
                start_new_session=True,
                preexec_fn=processes.die_with_parent,
            )
        self._zygotes[key] = _Zygote(proc, socket_path, time.monotonic())
        log.info("started zygote %s (pid %s) preloading %s", key, proc.pid, ",".join(preload))

    @staticmethod
    async def _ask(socket_path: Path, request: ForkRequest) -> int:
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        try:
            payload = {
                "argv": request.argv,
                "env": request.env,
                "cwd": str(request.cwd),
                "log": str(request.log),
                "exit_file": str(request.exit_file),
                **request.setup,
            }
            writer.write(json.dumps(payload).encode() + b"\n")
            await writer.drain()
            answer = json.loads(await reader.readline())
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if "pid" not in answer:
            raise ValueError(answer.get("error", "no pid in the answer"))
        return int(answer["pid"])

    def close(self) -> None:
        """Stop every zygote (replicas they forked keep running)."""
        for zygote in self._zygotes.values():
            if zygote.proc.poll() is None:
                zygote.proc.terminate()
        for zygote in self._zygotes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                zygote.proc.wait(timeout=5)
        self._zygotes.clear()
