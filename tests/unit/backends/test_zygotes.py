"""Whether a start waits for a zygote that is still importing, and how long at most."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from shipyard.backends import zygotes as zygotes_module
from shipyard.backends.zygotes import ForkRequest, Zygotes, _Zygote

pytestmark = pytest.mark.unit


class Proc:
    """A zygote process: running while ``code`` is None."""

    def __init__(self) -> None:
        self.code: int | None = None

    def poll(self) -> int | None:
        return self.code


def request(tmp: Path) -> ForkRequest:
    return ForkRequest([], {}, tmp, tmp / "log", tmp / "exit", {})


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    asked: list[Path] = []

    async def ask(socket: Path, request: ForkRequest) -> int:
        asked.append(socket)
        return 4242

    monkeypatch.setattr(zygotes_module.Zygotes, "_ask", staticmethod(ask))
    return asked


def with_zygote(tmp: Path, started_ago: float, **kw: float) -> tuple[Zygotes, Proc, Path]:
    zygotes = Zygotes(tmp, **kw)
    proc, socket = Proc(), tmp / "z.sock"
    key, _ = zygotes._key("python", {}, "sklearn")
    zygotes._zygotes[key] = _Zygote(proc, socket, time.monotonic() - started_ago)  # type: ignore[arg-type]
    return zygotes, proc, socket


async def test_a_start_waits_for_a_young_zygote_that_becomes_ready(tmp_path, forks):
    zygotes, _, socket = with_zygote(tmp_path, 0.0, wait_s=5.0)
    asyncio.get_running_loop().call_later(0.1, socket.touch)  # its imports end
    assert await zygotes.fork("python", {}, "sklearn", request(tmp_path)) == 4242
    assert forks == [socket]


async def test_a_start_does_not_wait_past_its_bound_or_for_an_old_or_dead_zygote(tmp_path, forks):
    zygotes, proc, _ = with_zygote(tmp_path, 0.0, wait_s=0.1)
    started = time.monotonic()
    assert await zygotes.fork("python", {}, "sklearn", request(tmp_path)) is None
    assert time.monotonic() - started < 2.0
    zygotes, _, _ = with_zygote(tmp_path, 10.0, wait_s=5.0, starting_s=6.0)
    started = time.monotonic()
    assert await zygotes.fork("python", {}, "sklearn", request(tmp_path)) is None  # too old
    assert time.monotonic() - started < 0.5
    zygotes, proc, _ = with_zygote(tmp_path, 0.0, wait_s=5.0)
    asyncio.get_running_loop().call_later(0.05, setattr, proc, "code", 1)  # it died
    started = time.monotonic()
    assert await zygotes.fork("python", {}, "sklearn", request(tmp_path)) is None
    assert time.monotonic() - started < 2.0
    assert await zygotes.fork("python", {}, "xgboost", request(tmp_path)) is None  # no zygote
    assert forks == []


async def test_a_replica_limited_below_its_kinds_footprint_is_never_forked(tmp_path, forks):
    mib = 1024 * 1024
    zygotes, _, socket = with_zygote(tmp_path, 10.0)
    socket.touch()  # ready
    zygotes.ensure("python", {}, "sklearn", footprint=120 * mib)  # a whole process needed 120
    small = await zygotes.fork("python", {}, "sklearn", request(tmp_path), limit_bytes=20 * mib)
    assert small is None and forks == []  # started as a process: charged its whole footprint
    enough = await zygotes.fork("python", {}, "sklearn", request(tmp_path), limit_bytes=256 * mib)
    assert enough == 4242 and forks == [socket]
    unlimited = await zygotes.fork("python", {}, "sklearn", request(tmp_path))
    assert unlimited == 4242
