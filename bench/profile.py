"""Where Shipyard's data path spends its time: py-spy profiles of the gateway and a replica.

``uv run python -m bench.profile [--seconds S] [--protocol v1|v2]`` starts Shipyard as the
bench does and first compares the same load through the gateway and straight to one replica
(the gateway hop's cost). Then it drives the gateway with wrk at concurrency 32 and samples
the gateway and one replica with py-spy (pinned, in its own virtualenv under
``bench/_work/``) at the same time. It writes the
collapsed stacks to ``bench/_work/profile/<role>.txt`` (``flamegraph.pl`` or speedscope read
them) and prints each process's hottest functions, by own time and by time including callees.
Not part of ``run.sh``: a tool for the data-path work, run on its own.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
from collections import Counter
from pathlib import Path

from bench import load, model, shipyard_target
from bench.settings import LOOPBACK, WORK
from bench.target import Started

PY_SPY = "py-spy==0.4.3"
OUT = WORK / "profile"


def _py_spy() -> Path:
    venv = WORK / "venvs" / "tools"
    binary = venv / "bin" / "py-spy"
    if not binary.is_file():
        subprocess.run(["uv", "venv", "--quiet", str(venv)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), PY_SPY],
            check=True,
        )
    return binary


def _record(py_spy: Path, pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    command = [str(py_spy), "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def hottest(
    collapsed: Path, top: int = 15
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(own time, inclusive time) shares of the ``top`` hottest frames of a collapsed profile."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    share = max(1, total)
    return (
        [(f, n / share) for f, n in own.most_common(top)],
        [(f, n / share) for f, n in inclusive.most_common(top)],
    )


def _replica_request(started: Started, request: load.Request) -> load.Request:
    """``request`` sent straight to one replica (its port is on its command line; no key)."""
    replica = next(p for p in started.proc.refresh() if started.classify(p, False) == "replica")
    args = replica.cmdline.split()
    port = args[args.index("--port") + 1]
    path = "/" + request.url.split("/", 3)[3]
    return load.Request(f"http://{LOOPBACK}:{port}{path}", request.body)


def _compare(started: Started, request: load.Request, seconds: float) -> None:
    direct = _replica_request(started, request)
    print("concurrency  via gateway (2 replicas)        straight to 1 replica")
    for concurrency in (1, 32):
        gw = load.run(request, concurrency=concurrency, duration_s=seconds)
        one = load.run(direct, concurrency=concurrency, duration_s=seconds)
        print(
            f"{concurrency:11}  {gw.rps:7,.0f} req/s p50 {gw.p50_ms:6.2f} ms   "
            f"{one.rps:7,.0f} req/s p50 {one.p50_ms:6.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--protocol", choices=("v1", "v2"), default="v1")
    args = parser.parse_args()
    py_spy = _py_spy()
    OUT.mkdir(parents=True, exist_ok=True)
    model_file = model.train(WORK / "model")
    with shipyard_target.start(model_file, timeout_s=240) as started:
        endpoint = next(e for e in started.endpoints if e.protocol == args.protocol)
        load.run(endpoint.request, concurrency=32, duration_s=3)
        _compare(started, endpoint.request, args.seconds / 2)
        procs = started.proc.refresh()
        pids = {
            "gateway": next(p.pid for p in procs if started.classify(p, False) == "gateway"),
            "replica": next(p.pid for p in procs if started.classify(p, False) == "replica"),
        }
        result: list[load.LoadResult] = []
        driver = threading.Thread(
            target=lambda: result.append(
                load.run(endpoint.request, concurrency=32, duration_s=args.seconds + 4)
            )
        )
        driver.start()
        recorders = {
            role: _record(py_spy, pid, args.seconds, OUT / f"{role}.txt")
            for role, pid in pids.items()
        }
        for recorder in recorders.values():
            recorder.wait(timeout=args.seconds + 60)
        driver.join()
    print(f"load while profiling: {result[0].rps:,.0f} req/s at concurrency 32 ({args.protocol})")
    for role in pids:
        own, inclusive = hottest(OUT / f"{role}.txt")
        print(f"\n== {role}: own time")
        for frame, share in own:
            print(f"{share:6.1%}  {frame}")
        print(f"== {role}: including callees")
        for frame, share in inclusive:
            print(f"{share:6.1%}  {frame}")


if __name__ == "__main__":
    main()
