"""A pre-imported parent that forks replicas, so a replica starts without importing anything.

``python -m shipyard.runtime.zygote --socket PATH --preload numpy,sklearn.base,...`` imports the
runtime and the preload modules once (on the interpreter and ``PYTHONPATH`` of one environment),
then listens on a Unix socket. The LOCAL backend sends one JSON line per replica::

    {"argv": [...], "env": {...}, "cwd": "...", "log": "...", "exit_file": "...",
     "cgroup_procs": ["/sys/fs/cgroup/.../cgroup.procs"], "cpus": [0, 1], "threads": 2}

and reads back ``{"pid": N}``. The forked child becomes the replica exactly as ``python -m
shipyard.runtime <argv>`` would: its own session, the given environment, working directory and
log file, its cgroups joined and CPUs set before any of its code runs, the BLAS thread pools
sized to ``threads`` (the zygote itself keeps one thread per pool: a pool's threads do not
survive a fork). Importing scikit-learn costs over a second; a fork costs milliseconds.

The zygote reaps its children and writes each exit code (negative: the signal) to the child's
``exit_file``, which is how the backend learns how a replica it did not start itself ended.
SIGTERM stops the zygote; replicas it forked keep running. Stdlib only: this runs in users'
environments.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

READY_LINE = "shipyard-zygote ready"
_MAX_REQUEST = 1 << 20


class _Zygote:
    def __init__(self, listener: socket.socket, home: str) -> None:
        self._listener = listener
        self._home = home  # its working directory: sys.path[0], to become the replica's
        self._exit_files: dict[int, str] = {}
        self._stopping = False

    def serve(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGCHLD, self._reap)
        while not self._stopping:
            try:
                readable, _, _ = select.select([self._listener], [], [], 1.0)
            except InterruptedError:
                continue
            self._reap()
            if readable and not self._stopping:
                with contextlib.suppress(OSError):
                    conn, _ = self._listener.accept()
                    with conn:
                        self._answer(conn)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _reap(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            exit_file = self._exit_files.pop(pid, None)
            if exit_file:
                with contextlib.suppress(OSError):
                    Path(exit_file).write_text(str(code))

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5.0)
        data = b""
        while not data.endswith(b"\n") and len(data) < _MAX_REQUEST:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        try:
            request = json.loads(data)
            argv = [str(a) for a in request["argv"]]
        except (ValueError, KeyError, TypeError) as exc:
            conn.sendall(json.dumps({"error": f"bad request: {exc}"}).encode() + b"\n")
            return
        sys.stdout.flush()
        sys.stderr.flush()
        # a child that dies at once must find its exit file registered when it is reaped
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid == 0:
                _become_replica(request, argv, [self._listener, conn], self._home)
            self._exit_files[pid] = str(request.get("exit_file") or "")
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_replica(
    request: dict[str, Any], argv: list[str], inherited: list[socket.socket], home: str
) -> None:
    """In the forked child: set the replica up as the backend asked and run it; never returns."""
    code = 1
    try:
        for sock in inherited:
            sock.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.setsid()
        _retitle([sys.executable, "-m", "shipyard.runtime", *argv])
        for path in request.get("cgroup_procs") or []:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        cpus = request.get("cpus") or []
        if cpus:
            os.sched_setaffinity(0, cpus)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        cwd = str(request.get("cwd") or "/")
        os.chdir(cwd)
        if sys.path and sys.path[0] in ("", home):  # as `python -m` in cwd would have it
            sys.path[0] = cwd
        _size_thread_pools(int(request.get("threads") or 0))
        _reseed()
        sys.argv = ["shipyard.runtime", *argv]
        from shipyard.runtime.server import main

        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reseed() -> None:
    """Give this replica its own numpy global random state (fork copied the zygote's).

    Python's ``random`` reseeds itself after a fork; numpy's legacy global generator does not,
    so replicas forked from one zygote would draw the same "random" numbers.
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            numpy.random.seed()  # fresh entropy from the OS


def _retitle(words: list[str]) -> None:
    """Show ``words`` as this process's command line (``ps``, ``/proc/PID/cmdline``).

    A forked replica would otherwise show the zygote's command line, so ``pkill -f`` aimed at
    a zygote would hit its replicas too. The words are written in place over the original
    argument area (truncated to its size), as ``setproctitle`` does; any failure is ignored.
    """
    with contextlib.suppress(Exception):
        import ctypes

        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48, 49)
        size = end - start
        if size <= 1:
            return
        title = b"\0".join(os.fsencode(word) for word in words)[: size - 1]
        ctypes.memset(start, 0, size)
        ctypes.memmove(start, title, len(title))


def _size_thread_pools(threads: int) -> None:
    """Give the replica the BLAS/OpenMP threads its CPU limit allows (the zygote kept one)."""
    if threads <= 1 or "threadpoolctl" not in sys.modules:
        return
    with contextlib.suppress(Exception):
        import threadpoolctl  # type: ignore[import-untyped]

        threadpoolctl.threadpool_limits(limits=threads)


def _preload(modules: list[str]) -> None:
    started = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a module this environment lacks: forks still work
            print(f"shipyard-zygote: not preloaded {name}: {exc!r}", file=sys.stderr, flush=True)
    if "sklearn" in sys.modules or "numpy" in sys.modules:
        with contextlib.suppress(Exception):
            import threadpoolctl  # noqa: F401  (to size the children's pools)
    import shipyard.runtime.loaders
    import shipyard.runtime.server  # noqa: F401

    took = time.perf_counter() - started
    print(f"shipyard-zygote: preloaded {len(modules)} modules in {took:.2f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m shipyard.runtime.zygote``."""
    parser = argparse.ArgumentParser(prog="python -m shipyard.runtime.zygote")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--preload", default="", help="comma-separated modules to import once")
    args = parser.parse_args(argv)
    _preload([m for m in args.preload.split(",") if m])
    path: Path = args.socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    listener.bind(str(tmp))
    listener.listen(64)
    os.replace(tmp, path)  # appears only once it accepts
    print(f"{READY_LINE} socket={path}", flush=True)
    try:
        _Zygote(listener, os.getcwd()).serve()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
