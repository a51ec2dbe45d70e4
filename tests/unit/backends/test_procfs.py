"""Process trees, RSS and CPU time from a fake /proc."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from shipyard.backends.limits.procfs import (
    ProcStat,
    kill_all,
    parse_stat,
    parse_status_kib,
    tree_cpu_seconds,
    tree_of,
    tree_rss,
)

pytestmark = pytest.mark.unit


def stat_line(pid: int, ppid: int, session: int, state: str = "S", comm: str = "python") -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice threads itrealvalue starttime ...
    return (
        f"{pid} ({comm}) {state} {ppid} {pid} {session} 0 -1 0 0 0 0 0 100 50 30 20 20 0 1 0 777 0"
    )


def fake_proc(tmp_path: Path, rows: list[tuple[int, int, int, str, int]]) -> Path:
    """rows: (pid, ppid, session, state, rss_kib)."""
    proc = tmp_path / "proc"
    for pid, ppid, session, state, rss in rows:
        directory = proc / str(pid)
        directory.mkdir(parents=True)
        (directory / "stat").write_text(stat_line(pid, ppid, session, state))
        (directory / "status").write_text(
            f"Name:\tpython\nVmHWM:\t{rss * 2} kB\nVmRSS:\t{rss} kB\n"
        )
    (proc / "self").mkdir()
    return proc


def stat(pid: int, ppid: int, session: int, state: str = "S") -> ProcStat:
    return ProcStat(pid, state, ppid, session, 0, 0, 0, 0, 0)


def test_parse_stat_survives_spaces_and_parentheses_in_the_command_name():
    parsed = parse_stat(stat_line(42, 7, 42, comm="my (odd) prog"))
    assert parsed == ProcStat(42, "S", 7, 42, 100, 50, 30, 20, 777)
    assert parse_stat("garbage") is None


def test_tree_follows_parents_and_the_session_of_a_leader():
    stats = [
        stat(1, 0, 1),
        stat(10, 1, 10),  # the replica, a session leader
        stat(11, 10, 10),
        stat(12, 11, 10),
        stat(13, 1, 10),  # an orphan re-parented to init, still in the session
        stat(14, 10, 10, "Z"),  # a zombie counts for nothing
        stat(20, 1, 20),
    ]
    assert tree_of(10, stats) == [10, 11, 12, 13]
    assert tree_of(99, stats) == []


def test_session_members_are_ignored_when_the_root_leads_no_session():
    stats = [stat(1, 0, 1), stat(10, 1, 1), stat(11, 10, 1), stat(5, 1, 1)]
    assert tree_of(10, stats) == [10, 11]


def test_status_values_are_bytes():
    assert parse_status_kib("VmRSS:\t  2048 kB\n", "VmRSS") == 2 * 1024 * 1024
    assert parse_status_kib("Name: x\n", "VmRSS") == 0


def test_tree_rss_and_cpu_sum_over_the_tree(tmp_path: Path):
    proc = fake_proc(tmp_path, [(1, 0, 1, "S", 10), (10, 1, 10, "S", 100), (11, 10, 10, "R", 50)])
    pids, rss = tree_rss(10, proc)
    assert (pids, rss) == ([10, 11], 150 * 1024)
    # utime+stime = 150 ticks each, plus the root's reaped children (50 ticks), at 100 Hz
    assert tree_cpu_seconds(10, proc, tick=100) == pytest.approx(3.5)


def test_kill_all_never_signals_init_a_process_group_or_ourselves():
    kill_all([0, 1, -1, os.getpid()])  # we are still here
    calls: list[tuple[int, int]] = []
    kill_all([0, 1, -1, 500, 42, 42, 77], kill=lambda p, s: calls.append((p, s)), me=500)
    assert calls == [(42, signal.SIGKILL), (77, signal.SIGKILL)]


def test_kill_all_skips_processes_already_gone_or_not_ours():
    calls: list[int] = []

    def kill(pid: int, sig: int) -> None:
        calls.append(pid)
        if pid == 20:
            raise ProcessLookupError(pid)
        if pid == 30:
            raise PermissionError(pid)

    kill_all([30, 20, 40], kill=kill, me=1000)
    assert calls == [20, 30, 40]  # every one tried, none raised


def test_send_signal_sends_once_and_says_whether_the_process_was_there():
    from shipyard.backends.processes import send_signal

    calls: list[tuple[int, int]] = []
    assert send_signal(1234, signal.SIGTERM, kill=lambda p, s: calls.append((p, s))) is True
    assert calls == [(1234, signal.SIGTERM)]

    def gone(pid: int, sig: int) -> None:
        raise ProcessLookupError(pid)

    assert send_signal(1234, signal.SIGKILL, kill=gone) is False
    assert send_signal(1, signal.SIGKILL, kill=lambda p, s: calls.append((p, s))) is False
    assert send_signal(0, signal.SIGKILL, kill=lambda p, s: calls.append((p, s))) is False
    assert calls == [(1234, signal.SIGTERM)]  # never init nor a process group
