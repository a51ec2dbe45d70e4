"""One virtualenv per peer under ``bench/_work/venvs/``, with exactly the pinned packages.

Built with ``uv venv`` + ``uv pip install`` from PyPI. A venv whose recorded pins match is
reused, so only the first run pays for the downloads; ``uv pip freeze`` gives the versions that
were really installed, recorded in the results.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.settings import PEER_PACKAGES, PYTHON, WORK

VENVS = WORK / "venvs"
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Venv:
    """A peer's virtualenv."""

    name: str
    path: Path
    install_s: float
    """Seconds this run spent creating it (0 when reused)."""
    frozen: dict[str, str]
    """Every installed distribution and its version."""

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"


def _uv(*args: str, venv: Path | None = None) -> str:
    env_args = ["--python", str(venv / "bin" / "python")] if venv is not None else []
    done = subprocess.run(
        ["uv", *args, *env_args],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"uv {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _freeze(path: Path) -> dict[str, str]:
    lines = _uv("pip", "freeze", venv=path).splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line)
    return {name.lower(): version for name, version in pairs}


def ensure(name: str) -> Venv:
    """The virtualenv of peer ``name``, created or refreshed when its pins changed.

    Raises:
        RuntimeError: uv could not create it or install the pins (its message included).
    """
    packages = PEER_PACKAGES[name]
    path = VENVS / name
    stamp = path / "bench-pins.json"
    started = time.monotonic()
    if stamp.is_file() and json.loads(stamp.read_text()) == list(packages):
        return Venv(name, path, 0.0, _freeze(path))
    _uv("venv", "--quiet", "--clear", "--python", PYTHON, str(path))
    _uv("pip", "install", "--quiet", *packages, venv=path)
    stamp.write_text(json.dumps(list(packages)))
    return Venv(name, path, time.monotonic() - started, _freeze(path))
