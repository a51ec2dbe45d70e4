"""Running ``uv``: the binary shipped with the ``uv`` package, its output to a log, line by line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

from shipyard.environments import requirements
from shipyard.environments.build_log import BoundedLog
from shipyard.errors import ShipyardError
from shipyard.settings import ServerSettings

_KEPT_LINES = 400  # lines of uv's stderr kept in memory for the error message
PROGRESS = re.compile(r"^(Resolved|Prepared|Installed|Downloading|Audited|Using) ")
_DECORATIONS = "\u00d7\u2570\u2500\u25b6\u2502 "  # the box drawing uv frames errors with


class UvFailed(ShipyardError):
    """uv exited with an error; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def uv_binary() -> str:
    """Path of the uv executable: the one of the ``uv`` package, else one on PATH."""
    with contextlib.suppress(ImportError, FileNotFoundError):
        from uv import find_uv_bin

        return str(find_uv_bin())
    found = shutil.which("uv")
    if found is None:
        raise ShipyardError("uv is not installed: install it with `pip install uv`")
    return found


async def run(
    args: Sequence[str],
    *,
    env: dict[str, str],
    log: BoundedLog,
    timeout_s: float,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Run ``uv args`` to completion; stdout is returned, stderr goes to ``log`` and ``on_line``.

    Raises:
        UvFailed: uv exited non-zero or ran out of time (the message holds its error text).
    """
    proc = await asyncio.create_subprocess_exec(
        uv_binary(),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**base_env(), **env},
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[str] = []

    async def pump_stderr() -> None:
        assert proc.stderr is not None
        log.write(f"$ uv {' '.join(args)}")
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            log.write(line)
            errors.append(line)
            del errors[:-_KEPT_LINES]  # the resolver's reason is at the end
            if on_line is not None and line.strip():
                on_line(line.strip())

    try:
        stdout, _, _ = await asyncio.wait_for(
            asyncio.gather(proc.stdout.read(), pump_stderr(), proc.wait()), timeout_s
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        output = "\n".join(errors)
        raise UvFailed(f"uv {args[0]} took longer than {timeout_s:g} s", output) from None
    except asyncio.CancelledError:
        proc.kill()
        raise
    if proc.returncode != 0:
        raise UvFailed(f"uv {args[0]} {args[1] if len(args) > 1 else ''} failed", "\n".join(errors))
    return stdout.decode()


def base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {k: v for k, v in os.environ.items() if k in keep or k.lower().endswith("_proxy")}
    env["NO_COLOR"] = "1"
    env["UV_NO_PROGRESS"] = "1"
    return env


def log_hint(build_id: str) -> str:
    """How a user reads a build's log."""
    return f"shipyard environments logs {build_id}"


def explain(exc: UvFailed, what: str, build_id: str | None) -> str:
    """uv's own explanation, in plain lines, without its decorations."""
    lines = []
    for raw in exc.output.splitlines():
        line = raw.strip().lstrip(_DECORATIONS).strip()
        for prefix in ("error:", "hint:", "cause:"):
            line = line.removeprefix(prefix).strip()
        if line and not PROGRESS.match(line) and not line.startswith("$ uv"):
            lines.append(line)
    detail = " ".join(lines[-12:]) or exc.message
    hint = ""
    runtime = requirements.runtime_requirements()
    if any(r.name in detail for r in runtime):
        hint = f" (the Shipyard replica runtime needs {', '.join(str(r) for r in runtime)})"
    doing = "could not be resolved" if "compile" in exc.message else "could not be built"
    where = f" (build log: {log_hint(build_id)})" if build_id is not None else ""
    return f"environment {what} {doing}: {detail}{hint}{where}"


class Killable:
    """Commands run to completion on the caller's thread (a resolver pool's), all killed at once
    by :meth:`kill_all` when the server stops: a thread left in a half-hour ``uv pip compile``
    would hold the interpreter's exit (it joins the pool's threads)."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._killed = False

    def run(
        self, command: Sequence[str], *, env: dict[str, str], timeout_s: float
    ) -> subprocess.CompletedProcess[str]:
        """Like ``subprocess.run(capture_output=True, text=True, timeout=timeout_s)``; a killed
        command ends with the signal's negative return code."""
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        with self._lock:
            self._running.add(proc)
            if self._killed:
                proc.kill()
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        finally:
            with self._lock:
                self._running.discard(proc)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    @property
    def running(self) -> int:
        """How many commands run now."""
        with self._lock:
            return len(self._running)

    def kill_all(self) -> None:
        """Kill what runs, and whatever starts from now on."""
        with self._lock:
            self._killed = True
            for proc in self._running:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()


def platform_tag() -> str:
    """The platform an environment is built for (part of its key)."""
    return f"{sys.platform}-{platform.machine()}"


def index_args(settings: ServerSettings) -> list[str]:
    """uv's package-index arguments from the server's settings."""
    args: list[str] = []
    if settings.index_url:
        args += ["--index-url", settings.index_url]
    if settings.find_links is not None:
        args += ["--find-links", str(settings.find_links)]
        if not settings.index_url:
            args.append("--no-index")
    if settings.offline:
        args.append("--offline")
    return args


def uv_env(settings: ServerSettings) -> dict[str, str]:
    """uv's environment from the server's settings: the shared cache, CPU torch on CPUs."""
    env = {"UV_CACHE_DIR": str(settings.resolved_uv_cache_dir)}
    if settings.torch_backend and not settings.offline:
        env["UV_TORCH_BACKEND"] = settings.torch_backend
    return env
