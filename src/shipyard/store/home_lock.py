"""The lock on a data directory: one ``shipyard server`` per ``SHIPYARD_HOME``, for its life.

Two servers on one data directory would adopt each other's replicas and stop them on exit. The
server takes an exclusive ``flock`` on ``$SHIPYARD_HOME/server.lock`` before it builds anything
and holds it until it exits (the kernel drops it if the process dies, so a crash leaves no stale
lock). The file names the holder (pid, bind address, ports, start time) so that a second server
can refuse with a message that says which one runs. The descriptor is not inherited by child
processes (``O_CLOEXEC``), so the gateway and replicas never keep the lock alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipyard.errors import Conflict

LOCK_NAME = "server.lock"


def _holder(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _in_use(home: Path, holder: dict[str, Any]) -> Conflict:
    if holder.get("pid"):
        who = (
            f"pid {holder['pid']}, API {holder.get('bind')}:{holder.get('api_port')}, "
            f"gateway {holder.get('bind')}:{holder.get('gateway_port')}, "
            f"started {holder.get('started_at')}"
        )
    else:
        who = "a server that is starting"
    return Conflict(
        f"the data directory {home} is in use by another Shipyard server ({who}): stop it "
        "first, or give this one another data directory (--home or SHIPYARD_HOME)",
        details={"home": str(home), "holder": holder},
    )


@contextlib.contextmanager
def hold_home(home: Path, owner: dict[str, Any]) -> Iterator[None]:
    """Hold the lock of ``home`` while the block runs; ``owner`` is written into the lock file.

    Raises:
        Conflict: Another process holds it (the message names its pid and ports).
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _in_use(home, _holder(path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # the holder is gone; the lock itself goes with the fd
    finally:
        os.close(fd)
