"""A replica's process tree and its CPU time and resident memory, read from /proc.

The best-effort enforcement (:mod:`shipyard.backends.limits.watchdog` and
:mod:`shipyard.backends.limits.enforcement`) measures replicas with these functions when no
cgroup counts for them. Parsing is pure; the readers take the procfs root as an argument.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` that Shipyard uses (times in clock ticks)."""

    pid: int
    state: str
    ppid: int
    session: int
    utime: int
    stime: int
    cutime: int
    cstime: int
    starttime: int


def parse_stat(text: str) -> ProcStat | None:
    """``/proc/<pid>/stat`` parsed (the command name may hold spaces and parentheses)."""
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    pid_text = head.split(" (", 1)[0].strip()
    if len(fields) < 20 or not pid_text.isdigit():
        return None
    numbers = [int(f) if f.lstrip("-").isdigit() else 0 for f in fields[:20]]
    return ProcStat(
        pid=int(pid_text),
        state=fields[0],
        ppid=numbers[1],
        session=numbers[3],
        utime=numbers[11],
        stime=numbers[12],
        cutime=numbers[13],
        cstime=numbers[14],
        starttime=numbers[19],
    )


def read_stat(pid: int, proc: Path = PROC) -> ProcStat | None:
    try:
        return parse_stat((proc / str(pid) / "stat").read_text(errors="replace"))
    except OSError:
        return None


def all_stats(proc: Path = PROC) -> list[ProcStat]:
    """Every process visible in ``proc``."""
    found: list[ProcStat] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(proc):
            if entry.name.isdigit():
                stat = read_stat(int(entry.name), proc)
                if stat is not None:
                    found.append(stat)
    return found


def tree_of(root: int, stats: Iterable[ProcStat]) -> list[int]:
    """``root`` and its descendants, plus orphans left in its session when it leads one.

    Session members count only when ``root`` is a session leader (the LOCAL backend starts
    replicas with ``start_new_session``), so a replica sharing our session never drags us in.
    """
    table = {s.pid: s for s in stats if s.state != "Z"}
    if root not in table:
        return []
    leader = table[root].session == root
    children: dict[int, list[int]] = {}
    for stat in table.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    tree, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    if leader:
        tree.update(s.pid for s in table.values() if s.session == root)
    return sorted(tree)


def parse_status_kib(text: str, key: str) -> int:
    """A ``kB`` line of ``/proc/<pid>/status`` (VmRSS, VmHWM) in bytes; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) >= 2 and parts[1].isdigit() else 0
    return 0


def status_bytes(pid: int, key: str, proc: Path = PROC) -> int:
    try:
        return parse_status_kib((proc / str(pid) / "status").read_text(errors="replace"), key)
    except OSError:
        return 0


def tree_rss(root: int, proc: Path = PROC) -> tuple[list[int], int]:
    """The pids of ``root``'s tree and their summed resident memory in bytes."""
    pids = tree_of(root, all_stats(proc))
    return pids, sum(status_bytes(pid, "VmRSS", proc) for pid in pids)


def tree_cpu_seconds(root: int, proc: Path = PROC, tick: int | None = None) -> float:
    """User + system time of ``root``'s live tree and of the children it already reaped."""
    hz = tick or os.sysconf("SC_CLK_TCK")
    stats = all_stats(proc)
    pids = set(tree_of(root, stats))
    total = sum(s.utime + s.stime for s in stats if s.pid in pids)
    total += sum(s.cutime + s.cstime for s in stats if s.pid == root)
    return total / hz


def kill_all(
    pids: Iterable[int], *, kill: Callable[[int, int], None] = os.kill, me: int | None = None
) -> None:
    """SIGKILL each pid with ``kill``; those already gone are skipped, and never init, us
    (``me``, default this process) or a group (pids of 1 or less)."""
    own = os.getpid() if me is None else me
    for pid in sorted(set(pids) - {own}):
        if pid <= 1:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)
