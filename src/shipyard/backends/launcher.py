"""The small launcher a LOCAL replica starts through: join the cgroups, pin the CPUs, drop to
the project's uid, exec.

The server is threaded, so it never runs Python between ``fork`` and ``exec`` (no
``preexec_fn``: a lock held by another thread at fork time would hang the child). Instead the
LOCAL backend runs this file as a script with the server's interpreter and ``-S`` (standard
library only, no site packages, nothing of Shipyard imported), and it execs the replica's own
command once confined, so the replica runs in its cgroups from its first instruction::

    python -S launcher.py --cgroup-procs /sys/fs/cgroup/.../cgroup.procs --cpus 0,1
        --uid 1000123 --gid 1000123 --die-with-parent -- /venv/bin/python -m shipyard.runtime ...

With ``--uid``/``--gid`` (:mod:`shipyard.backends.identity`) it drops every supplementary group,
then sets the gid, then the uid (after joining the cgroups, which needs root), and checks the
drop cannot be undone; the parent-death signal is set after (a change of uid clears it).

A step that fails ends the launcher with :data:`FAILED_TO_CONFINE` and a line on stderr (the
replica's log): a replica never runs unconfined.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

FAILED_TO_CONFINE = 126
_PR_SET_PDEATHSIG = 1


class _Ids(Protocol):
    """The id calls of :mod:`os` the launcher uses (a fake in unit tests)."""

    def setgroups(self, groups: list[int], /) -> None: ...
    def setgid(self, gid: int, /) -> None: ...
    def setuid(self, uid: int, /) -> None: ...
    def getuid(self) -> int: ...
    def getgid(self) -> int: ...


@dataclass(frozen=True)
class Launch:
    """What the launcher was asked to do."""

    procs: list[str]
    cpus: list[int]
    die: bool
    command: list[str]
    uid: int | None = None
    gid: int | None = None


def parse(argv: Sequence[str]) -> Launch:
    """The launcher's arguments, checked."""
    if "--" not in argv:
        raise ValueError("no command: give it after '--'")
    split = list(argv).index("--")
    options, command = list(argv[:split]), list(argv[split + 1 :])
    if not command:
        raise ValueError("no command after '--'")
    procs: list[str] = []
    cpus: list[int] = []
    ids: dict[str, int] = {}
    die = False
    while options:
        option = options.pop(0)
        if option == "--die-with-parent":
            die = True
        elif option in ("--cgroup-procs", "--cpus", "--uid", "--gid") and options:
            value = options.pop(0)
            if option == "--cgroup-procs":
                procs.append(value)
            elif option == "--cpus":
                cpus = [int(c) for c in value.split(",") if c]
            else:
                ids[option[2:]] = _id(option, value)
        else:
            raise ValueError(f"unknown or incomplete option {option!r}")
    if len(ids) == 1:
        raise ValueError("give --uid and --gid together")
    return Launch(procs, cpus, die, command, ids.get("uid"), ids.get("gid"))


def _id(option: str, value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**32 - 1:
        raise ValueError(f"{option} {value!r} is not an unprivileged id")
    return int(value)


def drop_privileges(uid: int, gid: int, *, ids: _Ids) -> None:
    """Become ``uid``/``gid`` with no supplementary group, for good.

    Raises:
        OSError: a step failed, or root could be regained.
    """
    ids.setgroups([])
    ids.setgid(gid)
    ids.setuid(uid)
    if ids.getuid() != uid or ids.getgid() != gid:
        raise OSError(f"still uid {ids.getuid()} gid {ids.getgid()} after dropping to {uid}")
    try:
        ids.setuid(0)
    except OSError:
        return
    raise OSError("root could be regained after dropping privileges")


def confine(
    procs: Sequence[str],
    cpus: Sequence[int],
    *,
    write: Callable[[str, bytes], None],
    pin: Callable[[Sequence[int]], None],
) -> None:
    """Move this process into each cgroup (writing ``0`` to its ``cgroup.procs``), then pin it."""
    for path in procs:
        write(path, b"0")
    if cpus:
        pin(cpus)


def launch_command(
    setup: Mapping[str, object], command: list[str], *, uid: int | None = None
) -> list[str]:
    """``command`` started through :mod:`shipyard.backends.launcher`, which joins the replica's
    cgroups, pins its CPUs and drops to ``uid`` (its gid too) before it execs it (never
    unlimited, no ``preexec_fn``); ``setup`` is the enforcement's ``fork_setup()``."""
    out = [sys.executable, "-S", __file__]
    if uid is not None:
        out += ["--uid", str(uid), "--gid", str(uid)]
    procs = setup.get("cgroup_procs") or []
    for path in procs if isinstance(procs, list) else []:
        out += ["--cgroup-procs", str(path)]
    cpus = setup.get("cpus") or []
    if isinstance(cpus, list) and cpus:
        out += ["--cpus", ",".join(str(c) for c in cpus)]
    return [*out, "--", *command]


def _write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: Sequence[str]) -> int:
    try:
        launch = parse(argv)
        confine(launch.procs, launch.cpus, write=_write, pin=lambda c: os.sched_setaffinity(0, c))
        if launch.uid is not None and launch.gid is not None:
            drop_privileges(launch.uid, launch.gid, ids=os)
        if launch.die:
            _die_with_parent()
        os.execv(launch.command[0], launch.command)
    except (OSError, ValueError) as exc:
        print(f"shipyard launcher: cannot start the replica confined: {exc}", file=sys.stderr)
    return FAILED_TO_CONFINE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
