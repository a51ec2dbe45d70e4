"""One bench run, start to end: model, peers' virtualenvs, each target in turn, the report.

Targets run one after another; each is stopped (its whole process tree) before the next
starts. Then the interleaved re-check (:mod:`bench.interleave`) starts Shipyard and the best V1
peers again, side by side, for the headline ratios. A target that cannot be installed or
started is skipped with its reason, so one broken peer never loses the others' numbers.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import distributions, version
from pathlib import Path

from bench import (
    baseline,
    bytecode,
    docker_target,
    envbuild,
    goals,
    grpc_bench,
    interleave,
    logging_cost,
    machine,
    model,
    peers,
    pending,
    report,
    results,
    shipyard_target,
)
from bench.measure import measure
from bench.peers import SERVERS
from bench.results import Results, Skipped
from bench.settings import BENCH_DIR, REPO, WORK, RunSettings
from bench.target import Started, TargetFailed
from bench.venvs import Venv, ensure

INTERLEAVE_TOP = 32
"""The headline throughput concurrency (latency is judged at 1)."""
INTERLEAVE_RUN_S = 8.0
INTERLEAVE_WARMUP_S = 3.0

KEY_PACKAGES = {
    "shipyard": ("shipyard", "starlette", "uvicorn", "httpx", "scikit-learn", "numpy"),
    "shipyard+batching": ("shipyard", "starlette", "uvicorn", "httpx", "scikit-learn", "numpy"),
    docker_target.NAME: ("shipyard", "docker", "httpx", "scikit-learn", "numpy"),
    "kserve": ("kserve", "fastapi", "uvicorn", "scikit-learn", "numpy"),
    "mlserver": ("mlserver", "mlserver-sklearn", "fastapi", "uvicorn", "uvloop", "scikit-learn"),
    "bentoml": ("bentoml", "starlette", "uvicorn", "scikit-learn", "numpy"),
    "ray": ("ray", "fastapi", "uvicorn", "scikit-learn", "numpy"),
}


def _is_shipyard(name: str) -> bool:
    return name.startswith("shipyard")


def _frozen(venv: Venv | None) -> dict[str, str]:
    if venv is not None:
        return venv.frozen
    return {d.metadata["Name"].lower(): d.version for d in distributions()}


def _versions(name: str, venv: Venv | None) -> dict[str, str]:
    if venv is None:
        return {p: version(p) for p in KEY_PACKAGES[name]}
    return {p: venv.frozen.get(p, "?") for p in KEY_PACKAGES[name]}


@contextlib.contextmanager
def _start(name: str, venv: Venv | None, model_file: Path, s: RunSettings) -> Iterator[Started]:
    if name == docker_target.NAME:
        with docker_target.start(model_file, timeout_s=s.start_timeout_s) as started:
            yield started
    elif _is_shipyard(name):
        batching = name == "shipyard+batching"
        with shipyard_target.start(
            model_file, timeout_s=s.start_timeout_s, batching=batching
        ) as started:
            yield started
    else:
        assert venv is not None
        timeout = s.ray_start_timeout_s if name == "ray" else s.start_timeout_s
        with peers.start(name, venv, model_file, timeout_s=timeout) as started:
            yield started


def _prepare(res: Results, s: RunSettings, model_file: Path) -> dict[str, Venv | None]:
    """Virtualenvs, versions and bare-process baselines of every target."""
    venvs: dict[str, Venv | None] = {}
    for name in s.targets:
        venv: Venv | None = None
        if not _is_shipyard(name):
            print(f"== {name}: virtualenv", flush=True)
            try:
                venv = ensure(name)
            except (RuntimeError, OSError) as exc:
                res.skipped.append(Skipped(name, f"install failed: {exc}"))
                continue
            res.install_s[name] = venv.install_s
        venvs[name] = venv
        res.versions[name] = _versions(name, venv)
        res.frozen[name] = _frozen(venv)
        python = venv.python if venv is not None else Path(sys.executable)
        cache = "shipyard" if venv is None else name
        print(f"== {name}: bytecode cache", flush=True)
        bytecode.precompile(cache, python, (REPO / "src",) if venv is None else (SERVERS,))
        res.bare[name] = baseline.bare(python, model_file, bytecode.env(cache))
    return venvs


def _best_v1_peers(res: Results) -> dict[int, str]:
    """Per headline concurrency, the V1 peer to beat: highest req/s at 32, lowest p50 at 1."""
    best: dict[int, str] = {}
    for concurrency, figure in ((1, "p50"), (INTERLEAVE_TOP, "rps")):
        rows = [r for r in goals.table(res, "v1", concurrency) if not _is_shipyard(r.target)]
        if rows:
            pick = max if figure == "rps" else min
            key = (lambda r: r.run.load.rps) if figure == "rps" else (lambda r: r.run.load.p50_ms)
            best[concurrency] = pick(rows, key=key).target
    return best


def _interleave(
    res: Results, venvs: dict[str, Venv | None], model_file: Path, s: RunSettings
) -> None:
    """Measure the headline comparisons again, the targets taking turns (``bench.interleave``)."""
    best = _best_v1_peers(res)
    ours = {t.name for t in res.targets if _is_shipyard(t.name)}
    if not best or not {"shipyard", "shipyard+batching"} <= ours:
        return
    print(f"== interleaved re-check: shipyard, shipyard+batching, {', '.join(set(best.values()))}")
    run_s, warmup_s = (2.0, 1.0) if s.quick else (INTERLEAVE_RUN_S, INTERLEAVE_WARMUP_S)
    try:
        with contextlib.ExitStack() as stack:
            pair = stack.enter_context(
                shipyard_target.start_pair(model_file, timeout_s=s.start_timeout_s)
            )
            peers_started = {
                name: stack.enter_context(_start(name, venvs[name], model_file, s))
                for name in sorted(set(best.values()))
            }
            for concurrency, peer in sorted(best.items()):
                res.interleaved.append(
                    interleave.measure(
                        [peers_started[peer], *pair],
                        concurrency=concurrency,
                        run_s=run_s,
                        warmup_s=warmup_s,
                        threads=s.wrk_threads,
                    )
                )
    except (TargetFailed, RuntimeError) as exc:
        print(f"   interleaved re-check skipped: {exc}", flush=True)
        res.interleaved.clear()


def run(s: RunSettings, command: str) -> Results:
    """Measure every target of ``s`` and return the results (nothing written yet)."""
    started_at = time.monotonic()
    model_file = model.train(WORK / "model")
    print("== in-process floor", flush=True)
    res = Results(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=command,
        wall_s=0.0,
        settings=s,
        machine=machine.describe(),
        versions={},
        install_s={},
        frozen={},
        floor=model.floor(model_file),
        bare={},
        pending=pending.all_pending(),
    )
    venvs = _prepare(res, s, model_file)
    for name, venv in venvs.items():
        print(f"== {name}: start", flush=True)
        try:
            with _start(name, venv, model_file, s) as started:
                print(f"   first prediction after {started.start_to_first_s:.1f} s", flush=True)
                res.targets.append(measure(started, s))
                res.grpc += grpc_bench.measure(started, s)
        except (TargetFailed, RuntimeError) as exc:
            print(f"   skipped: {exc}", flush=True)
            res.skipped.append(Skipped(name, str(exc).splitlines()[0][:400]))
        time.sleep(2.0)  # let the machine settle between targets
    _interleave(res, venvs, model_file, s)
    if "shipyard" in s.targets:
        print("== inference logging: off, to a file, to HTTP (taking turns)", flush=True)
        res.inference_logging = logging_cost.measure(model_file, s)
    if any(name in ("shipyard", "shipyard+batching") for name in s.targets):  # LOCAL builds
        print("== environment builds (Shipyard: cold, warm uv cache, reuse; plain pip)", flush=True)
        res.environment_builds = envbuild.measure()
    res.wall_s = time.monotonic() - started_at
    return res


def write(res: Results) -> Path:
    """Write RESULTS.md and results.json (into ``bench/_work/`` for a quick run)."""
    folder, suffix = (WORK, "-quick") if res.settings.quick else (BENCH_DIR, "")
    results.write_json(res, folder / f"results{suffix}.json")
    report.write(res, folder / f"RESULTS{suffix}.md")
    return folder / f"RESULTS{suffix}.md"
