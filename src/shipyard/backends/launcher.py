"""The small launcher a LOCAL replica starts through: join the cgroups, pin the CPUs, exec.

The server is threaded, so it never runs Python between ``fork`` and ``exec`` (no
``preexec_fn``: a lock held by another thread at fork time would hang the child). Instead the
LOCAL backend runs this file as a script with the server's interpreter and ``-S`` (standard
library only, no site packages, nothing of Shipyard imported), and it execs the replica's own
command once confined, so the replica runs in its cgroups from its first instruction::

    python -S launcher.py --cgroup-procs /sys/fs/cgroup/.../cgroup.procs --cpus 0,1
        --die-with-parent -- /venv/bin/python -m shipyard.runtime ...

A step that fails ends the launcher with :data:`FAILED_TO_CONFINE` and a line on stderr (the
replica's log): a replica never runs unconfined.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence

FAILED_TO_CONFINE = 126
_PR_SET_PDEATHSIG = 1


def parse(argv: Sequence[str]) -> tuple[list[str], list[int], bool, list[str]]:
    """(cgroup.procs files, CPUs, die with parent, command) from the launcher's arguments."""
    if "--" not in argv:
        raise ValueError("no command: give it after '--'")
    split = list(argv).index("--")
    options, command = list(argv[:split]), list(argv[split + 1 :])
    if not command:
        raise ValueError("no command after '--'")
    procs: list[str] = []
    cpus: list[int] = []
    die = False
    while options:
        option = options.pop(0)
        if option == "--die-with-parent":
            die = True
        elif option in ("--cgroup-procs", "--cpus") and options:
            value = options.pop(0)
            if option == "--cgroup-procs":
                procs.append(value)
            else:
                cpus = [int(c) for c in value.split(",") if c]
        else:
            raise ValueError(f"unknown or incomplete option {option!r}")
    return procs, cpus, die, command


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


def launch_command(setup: Mapping[str, object], command: list[str]) -> list[str]:
    """``command`` started through :mod:`shipyard.backends.launcher`, which joins the replica's
    cgroups and pins its CPUs before it execs it (never unlimited, no ``preexec_fn``);
    ``setup`` is the enforcement's ``fork_setup()``."""
    out = [sys.executable, "-S", __file__]
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
        procs, cpus, die, command = parse(argv)
        confine(procs, cpus, write=_write, pin=lambda c: os.sched_setaffinity(0, c))
        if die:
            _die_with_parent()
        os.execv(command[0], command)
    except (OSError, ValueError) as exc:
        print(f"shipyard launcher: cannot start the replica confined: {exc}", file=sys.stderr)
    return FAILED_TO_CONFINE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
