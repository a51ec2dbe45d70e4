"""Environment build times: Shipyard's (cold uv cache, warm uv cache, reuse) against plain pip.

The same requirements every time: scikit-learn and numpy pinned as everywhere in the bench
(``SKLEARN_PINS``), on the ``shipyard/python`` base; Shipyard adds its replica runtime
(starlette, uvicorn) to every environment. Shipyard is driven through ``EnvironmentManager``
directly, as the server does for a model with a ``requirements.txt``; each figure is the wall
time from the first ``status()`` call to READY, taken when the manager reports the change (its
listener), so it has no polling granularity:

1. **cold**: a fresh home and an empty uv cache (resolve + download + install);
2. **warm cache**: a new home (no lock, no virtualenv) on the same uv cache, five times: issue
   7's "< 1 s" target. The resolve is part of it (the lock lives in the home), and it asks the
   package index again (uv revalidates the index pages it cached);
3. **reuse**: a new manager on a warm home (a restarted server): the environment exists.

**Plain pip**: ``python -m venv`` of the same interpreter (it installs pip with ``ensurepip``)
plus ``pip install -r`` of the lock Shipyard resolved (the same packages, the same versions),
with a fresh ``PIP_CACHE_DIR`` (cold), then a second virtualenv on the same cache (warm), then
that again with ``--no-compile`` (pip compiles bytecode by default, uv does not). This
machine's pip configuration (a local wheel folder, a local mirror) is turned off, so pip
downloads from PyPI, as uv does.

``uv run python -m bench.envbuild`` runs only this measurement (scratch: ``bench/_work/``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.settings import SKLEARN_PINS, WORK
from shipyard.environments.manager import EnvironmentManager, EnvironmentRequest
from shipyard.environments.uv import uv_binary
from shipyard.settings import ServerSettings
from shipyard.spec.environment import EnvironmentInfo, EnvironmentPhase

BASE = "shipyard/python"
REQUIREMENTS = tuple(p for p in SKLEARN_PINS if p.split("==")[0] in ("scikit-learn", "numpy"))
"""The model's ``requirements.txt``: scikit-learn and numpy, pinned (joblib comes with them)."""
WARM_REPEATS = 5
TIMEOUT_S = 600.0
CHECK = "import sklearn, numpy; print(sklearn.__version__, numpy.__version__)"
PIP_SETTINGS = ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX")


@dataclass(frozen=True)
class Build:
    """One environment build, timed."""

    tool: str
    """``shipyard`` or ``pip``."""
    case: str
    """``cold cache``, ``warm cache``, ``reuse``, ``warm cache, --no-compile``."""
    seconds: float | None
    """Wall time to a usable environment; None when it failed."""
    steps: dict[str, float] = field(default_factory=dict)
    """Shipyard: ``locked after`` (the lock known: resolved, or read from the home), ``venv +
    sync`` (the manager's ``build_seconds``). pip: ``python -m venv``, ``pip install``."""
    note: str = ""


@dataclass(frozen=True)
class EnvBuilds:
    """Every environment build of one run."""

    base: str
    requirements: tuple[str, ...]
    packages: list[str]
    """The lock Shipyard resolved, which pip installs too."""
    python: str
    uv: str
    pip: str
    builds: list[Build]
    cold_cache_mib: float = 0.0
    """Size of the uv cache after the cold build (what it downloaded, unpacked)."""
    check: str = ""
    """``sklearn.__version__ numpy.__version__`` imported in the warm-cache environment."""
    error: str | None = None

    def runs(self, tool: str, case: str) -> list[Build]:
        return [b for b in self.builds if b.tool == tool and b.case == case]

    def median_s(self, tool: str, case: str) -> float | None:
        """Median of the successful runs of ``tool`` / ``case``; None if any failed or none ran."""
        runs = self.runs(tool, case)
        seconds = [b.seconds for b in runs if b.seconds is not None]
        return statistics.median(seconds) if runs and len(seconds) == len(runs) else None


# -- Shipyard ---------------------------------------------------------------------------------


async def _shipyard(home: Path, cache: Path) -> tuple[EnvironmentInfo, dict[str, float], Path]:
    """Ask a new manager for the environment: its info once READY/FAILED, the marks (seconds
    after the first ``status()``: ``resolve`` = lock known, ``ready``), its interpreter."""
    settings = ServerSettings(
        home=home, uv_cache_dir=cache, index_url=None, find_links=None, offline=False
    )
    manager = EnvironmentManager(settings)
    request = EnvironmentRequest(manager.catalogue.get(BASE), REQUIREMENTS)
    done = asyncio.Event()
    marks: dict[str, float] = {}
    started = [0.0]

    def on_change() -> None:  # called by the manager on every change of the job's info
        info = manager.status(request)
        elapsed = time.monotonic() - started[0]
        if info.key is not None:
            marks.setdefault("resolve", elapsed)
        if info.phase in (EnvironmentPhase.READY, EnvironmentPhase.FAILED):
            marks.setdefault("ready", elapsed)
            done.set()

    manager.set_listener(on_change)
    try:
        started[0] = time.monotonic()
        manager.status(request)
        await asyncio.wait_for(done.wait(), TIMEOUT_S)
        info = manager.status(request)
        return info, marks, manager.python(info.key or "none")
    finally:
        await manager.close()


def _shipyard_build(case: str, home: Path, cache: Path) -> tuple[Build, EnvironmentInfo, Path]:
    info, marks, python = asyncio.run(_shipyard(home, cache))
    if info.phase is not EnvironmentPhase.READY:
        return Build("shipyard", case, None, note=info.message[:400]), info, python
    steps = {"locked after": marks.get("resolve", 0.0)}
    if info.build_seconds is not None:
        steps["venv + sync"] = info.build_seconds
    note = "reused the existing environment" if info.reused else ""
    return Build("shipyard", case, marks["ready"], steps, note), info, python


# -- plain pip --------------------------------------------------------------------------------


def _base_python() -> Path:
    """The interpreter the project's virtualenv is made from (the one uv builds on too)."""
    for name in ("python3", "python"):
        candidate = Path(sys.base_prefix) / "bin" / name
        if candidate.is_file():
            return candidate
    return Path(sys.executable)


def _pip_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PIP_SETTINGS}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # no pip.conf: PyPI only, like uv
        PIP_CACHE_DIR=str(cache),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def _run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run ``command``; (seconds, stdout). Raises RuntimeError with its stderr if it fails."""
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[:400]
        raise RuntimeError(f"{Path(command[0]).name} {' '.join(command[1:3])} failed: {tail}")
    return seconds, done.stdout


def _pip_build(case: str, venv: Path, lock: Path, cache: Path, *extra: str) -> Build:
    env = _pip_env(cache)
    try:
        venv_s, _ = _run([str(_base_python()), "-m", "venv", str(venv)], env)
        install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input"]
        install_s, _ = _run([*install, *extra, "-r", str(lock)], env)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Build("pip", case, None, note=str(exc))
    steps = {"python -m venv": venv_s, "pip install": install_s}
    return Build("pip", case, venv_s + install_s, steps)


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _size_mib(folder: Path) -> float:
    files = (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1024 / 1024


def _check(python: Path) -> str:
    try:
        _, out = _run([str(python), "-c", CHECK], {**os.environ, "PYTHONPATH": ""})
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"import failed: {exc}"
    return out.strip()


# -- the whole measurement --------------------------------------------------------------------


def measure(scratch: Path = WORK / "envbuild") -> EnvBuilds:
    """Every build, in ``scratch`` (emptied first and at the end: the caches must start empty)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    builds: list[Build] = []
    packages: list[str] = []
    check, error, cache_mib = "", None, 0.0
    try:
        uv_cache = scratch / "uv-cache"
        print("   shipyard: cold uv cache", flush=True)
        cold, info, _ = _shipyard_build("cold cache", scratch / "home-cold", uv_cache)
        builds.append(cold)
        packages = list(info.packages)
        if cold.seconds is None:
            raise RuntimeError(f"the cold build failed: {cold.note}")
        cache_mib = _size_mib(uv_cache)
        print(f"   {cold.seconds:.2f} s; warm uv cache, new homes", flush=True)
        for i in range(WARM_REPEATS):
            warm, _, python = _shipyard_build("warm cache", scratch / f"home-warm-{i}", uv_cache)
            builds.append(warm)
        check = _check(python)
        print("   reuse (a new manager on a warm home)", flush=True)
        builds.append(_shipyard_build("reuse", scratch / "home-warm-0", uv_cache)[0])
        lock = scratch / "requirements.lock"
        lock.write_text("\n".join(packages) + "\n")
        pip_cache = scratch / "pip-cache"
        print("   plain pip: cold cache", flush=True)
        builds.append(_pip_build("cold cache", scratch / "pip-cold", lock, pip_cache))
        print("   plain pip: warm cache", flush=True)
        builds.append(_pip_build("warm cache", scratch / "pip-warm", lock, pip_cache))
        builds.append(
            _pip_build(
                "warm cache, --no-compile", scratch / "pip-nc", lock, pip_cache, "--no-compile"
            )
        )
    except Exception as exc:  # a failed measurement must never lose the rest of the run
        error = f"{type(exc).__name__}: {exc}"[:400]
        print(f"   environment builds failed: {error}", flush=True)
    finally:
        pip = _version([str(scratch / "pip-cold" / "bin" / "python"), "-m", "pip", "--version"])
        shutil.rmtree(scratch, ignore_errors=True)
    return EnvBuilds(
        base=BASE,
        requirements=REQUIREMENTS,
        packages=packages,
        python=_version([str(_base_python()), "--version"]),
        uv=_version([uv_binary(), "--version"]),
        pip=pip.split(" from ")[0],
        builds=builds,
        cold_cache_mib=cache_mib,
        check=check,
        error=error,
    )


def main() -> int:
    """Measure, print the RESULTS.md section and the verdict, write the JSON to ``WORK``."""
    from bench import goals, report  # here: they import the results, which import this module

    WORK.mkdir(parents=True, exist_ok=True)
    result = measure(WORK / "envbuild-standalone")
    path = WORK / "envbuild.json"
    path.write_text(json.dumps(asdict(result), indent=2) + "\n")
    print("\n".join(report.environment_lines(result)))
    verdict = goals.environment(result)
    met = {True: "met", False: "not met", None: "not measured"}[verdict.met]
    print(f"{verdict.goal}: {verdict.measured}: {met}")
    print(f"== wrote {path}")
    return 0 if result.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
