"""The load generator: wrk, one thread, closed loop, fixed duration, loopback only.

``wrk`` (C, event loop) sends the same POST on ``concurrency`` keep-alive connections for a
fixed time; ``wrk/post.lua`` sets the body and headers, counts non-2xx answers in wrk's
``response`` hook and prints the summary as JSON. The CPU time wrk itself used is measured
(``RUSAGE_CHILDREN`` around the run), so the report can show it was not the bottleneck.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.settings import BENCH_DIR, LOOPBACK

LUA = BENCH_DIR / "wrk" / "post.lua"


@dataclass(frozen=True)
class Request:
    """What every load-generator connection sends, over and over."""

    url: str
    body: str
    authorization: str = ""


@dataclass(frozen=True)
class LoadResult:
    """One wrk run at one concurrency."""

    concurrency: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non2xx: int
    first_bad_status: int
    socket_errors: int
    """Connect, read, write errors and timeouts, added up."""
    wrk_cpu_s: float
    """CPU seconds wrk itself used (user + system)."""

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    @property
    def wrk_cpu_share(self) -> float:
        """wrk's CPU use as a fraction of one core."""
        return self.wrk_cpu_s / self.duration_s if self.duration_s else math.nan


def wrk_binary() -> str:
    """The path of ``wrk`` (``bench/run.sh`` installs it).

    Raises:
        RuntimeError: wrk is not on PATH.
    """
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: run bench/run.sh (it installs Debian's wrk)")
    return path


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host != LOOPBACK:
        raise ValueError(f"the bench only sends load to {LOOPBACK}, not to {host!r}")


def run(request: Request, *, concurrency: int, duration_s: float, threads: int = 1) -> LoadResult:
    """Send ``request`` on ``concurrency`` connections for ``duration_s`` seconds.

    Raises:
        RuntimeError: wrk failed or printed no result.
    """
    _check_loopback(request.url)
    threads = max(1, min(threads, concurrency))
    command = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        request.url,
    ]
    env = {**os.environ, "BENCH_BODY": request.body, "BENCH_AUTH": request.authorization}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    seconds = raw["duration_us"] / 1e6 or time.monotonic() - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LoadResult(
        concurrency=concurrency,
        duration_s=seconds,
        requests=raw["requests"],
        rps=raw["requests"] / seconds,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non2xx=raw["non2xx"],
        first_bad_status=raw["first_bad_status"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        wrk_cpu_s=cpu,
    )
