"""Processes the bench starts: launch in their own session, track every descendant, stop all.

A target (Shipyard or a peer) is one root process started in a new session. Servers fork
workers, and some (Shipyard's replicas, Ray's raylet) start their own sessions, so killing the
process group is not enough: :class:`Launched` remembers every descendant it has seen (pid plus
start time, so a reused pid is never signalled) and :meth:`Launched.stop` ends them all.
Also reads ``/proc`` for resident memory and CPU time per process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcInfo:
    """One process as seen in ``/proc``."""

    pid: int
    ppid: int
    start_ticks: int
    cpu_ticks: int
    """User plus system CPU time, in clock ticks."""
    cmdline: str


def read_proc(pid: int) -> ProcInfo | None:
    """The process ``pid`` from ``/proc``, or None when it is gone (or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    if fields[0] == "Z":
        return None
    return ProcInfo(
        pid=pid,
        ppid=int(fields[1]),
        start_ticks=int(fields[19]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        cmdline=raw.replace(b"\0", b" ").decode(errors="replace").strip(),
    )


def all_procs() -> dict[int, ProcInfo]:
    """Every live process on the machine."""
    procs: dict[int, ProcInfo] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := read_proc(int(entry))) is not None:
            procs[info.pid] = info
    return procs


def memory_kib(pid: int) -> tuple[int, int] | None:
    """``(VmRSS, Pss)`` of ``pid`` in KiB, or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    rss = next((int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:"), 0)
    pss = next((int(line.split()[1]) for line in rollup.splitlines() if line[:4] == "Pss:"), 0)
    return rss, pss


class Launched:
    """A root process in its own session, and every descendant it has had."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes]) -> None:
        self.name = name
        self.popen = popen
        self._seen: dict[int, int] = {}  # pid -> start ticks
        self.refresh()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def refresh(self) -> list[ProcInfo]:
        """The live processes of the tree (root first); remembers new descendants."""
        procs = all_procs()
        tree: list[ProcInfo] = []
        frontier = [self.pid]
        while frontier:
            pid = frontier.pop(0)
            info = procs.get(pid)
            if info is None:
                continue
            tree.append(info)
            self._seen.setdefault(pid, info.start_ticks)
            frontier += [p.pid for p in procs.values() if p.ppid == pid]
        # Descendants re-parented away from the tree (a daemon, an orphaned replica) stay known.
        known = {p.pid for p in tree}
        for pid, ticks in self._seen.items():
            info = procs.get(pid)
            if pid not in known and info is not None and info.start_ticks == ticks:
                tree.append(info)
        return tree

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM the root (it stops its own workers), wait, then SIGKILL what is left."""
        with contextlib.suppress(ProcessLookupError):
            self.refresh()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        self._wait_gone(grace_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for pid in self._leftovers():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._wait_gone(5.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def _wait_gone(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._leftovers():
            time.sleep(0.1)

    def _leftovers(self) -> list[int]:
        self.popen.poll()
        left = []
        for pid, ticks in self._seen.items():
            info = read_proc(pid)
            if info is not None and info.start_ticks == ticks:
                left.append(pid)
        return left


@contextlib.contextmanager
def launched(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
) -> Iterator[Launched]:
    """Start ``command`` in a new session, output to ``log``; stop its whole tree on exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Launched(name, popen)
    try:
        yield proc
    finally:
        proc.stop()


def log_tail(log: Path, lines: int = 25) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])
