"""``BoundedLog`` and ``tail``: a build's log stays bounded on disk and reads back its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.environments.build_log import BoundedLog, tail


def test_lines_read_back_oldest_first(tmp_path: Path) -> None:
    log = BoundedLog(tmp_path / "b.log")
    for n in range(5):
        log.write(f"line {n}")
    end = tail(log, lines=3, max_bytes=10_000)
    assert end.lines == ["line 2", "line 3", "line 4"]
    assert end.truncated is True  # two earlier lines were left out
    assert tail(log, lines=10, max_bytes=10_000).truncated is False


def test_a_missing_log_is_empty(tmp_path: Path) -> None:
    end = tail(BoundedLog(tmp_path / "none.log"), lines=10, max_bytes=1000)
    assert end.lines == [] and end.truncated is False and end.size_bytes == 0


def test_the_log_never_keeps_more_than_twice_its_bound(tmp_path: Path) -> None:
    log = BoundedLog(tmp_path / "b.log", max_bytes=2048)
    for n in range(2000):
        log.write(f"resolver line {n:05d}")
    kept = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert kept <= 2 * 2048 + 200
    end = tail(log, lines=10_000, max_bytes=100_000)
    assert end.lines[-1] == "resolver line 01999"  # the end (where a failure's reason is) stays
    assert end.truncated is True  # output was dropped, and the reader is told
    assert not any(line.startswith("[... earlier output") for line in end.lines)
    numbers = [int(line.split()[-1]) for line in end.lines]
    assert numbers == list(range(numbers[0], 2000))  # contiguous: nothing lost in the middle


def test_one_rotation_loses_nothing(tmp_path: Path) -> None:
    log = BoundedLog(tmp_path / "b.log", max_bytes=1024)
    for n in range(60):  # ~1.2 KiB: one rotation, the older file still holds the start
        log.write(f"line {n:04d}")
    end = tail(log, lines=1000, max_bytes=100_000)
    assert end.lines == [f"line {n:04d}" for n in range(60)]
    assert end.truncated is False


def test_the_byte_bound_cuts_at_a_line(tmp_path: Path) -> None:
    log = BoundedLog(tmp_path / "b.log")
    for n in range(100):
        log.write(f"line {n:03d}")  # 9 bytes each
    end = tail(log, lines=1000, max_bytes=95)
    assert end.lines == [f"line {n:03d}" for n in range(90, 100)]  # no half line first
    assert end.truncated is True and end.size_bytes == 900


def test_a_huge_line_is_cut_not_rotating_everything_out(tmp_path: Path) -> None:
    log = BoundedLog(tmp_path / "b.log", max_bytes=2048)
    log.write("before")
    log.write("x" * 100_000)
    (first, huge) = tail(log, lines=10, max_bytes=100_000).lines
    assert first == "before" and huge.endswith("[line cut]") and len(huge) < 1100


def test_a_tiny_bound_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes=10"):
        BoundedLog(tmp_path / "b.log", max_bytes=10)
