"""Small, testable facts about local processes: liveness by start time, exit descriptions."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from shipyard.spec.status import ReplicaExit

_PR_SET_PDEATHSIG = 1

MAX_SOCKET_PATH = 100
"""Longest Unix socket path we bind (``AF_UNIX`` paths are limited to 108 bytes)."""


def start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None  # gone, or a zombie waiting to be reaped
    return int(fields[19])


def is_same_process(pid: int, ticks: int | None) -> bool:
    """Whether ``pid`` still names the process that started at ``ticks`` (not a reused pid)."""
    current = start_ticks(pid)
    return current is not None and (ticks is None or current == ticks)


def describe_exit(returncode: int | None) -> ReplicaExit:
    """A ReplicaExit for a child's return code (negative = killed by that signal)."""
    now = datetime.now(UTC)
    if returncode is None:
        return ReplicaExit(
            reason="Exited", message="the process is gone (exit code unknown)", at=now
        )
    if returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        reason = "Killed" if sig == signal.SIGKILL else "Signaled"
        return ReplicaExit(signal=sig, reason=reason, message=f"terminated by {name}", at=now)
    if returncode == 0:
        return ReplicaExit(code=0, reason="Completed", message="exited with code 0", at=now)
    message = f"exited with code {returncode}"
    if returncode == 3:
        message += " (the model failed to load: see the replica log)"
    return ReplicaExit(code=returncode, reason="Error", message=message, at=now)


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when its parent dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def send_signal(
    pid: int, sig: signal.Signals, *, kill: Callable[[int, int], None] = os.kill
) -> bool:
    """Send ``sig`` to ``pid`` with ``kill``; False when the process is already gone."""
    if pid <= 1:
        return False  # never init, nor a process group
    try:
        kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
