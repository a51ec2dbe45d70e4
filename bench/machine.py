"""The machine and software a run was made on: cores, memory, kernel, Python, tool versions."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from bench.settings import REPO


@dataclass(frozen=True)
class Machine:
    """What RESULTS.md states about where it was measured."""

    cores: int
    cpu_model: str
    memory_gib: float
    kernel: str
    os: str
    python: str
    wrk: str
    uv: str
    shipyard: str
    shipyard_commit: str


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "not installed"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _field(path: str, key: str) -> str:
    for line in Path(path).read_text().splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    return "unknown"


def _commit() -> str:
    head = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"])
    return f"{head} (src/ has uncommitted changes)" if dirty else head


def describe() -> Machine:
    """Read the machine's description (nothing is changed)."""
    mem_kib = int(_field("/proc/meminfo", "MemTotal").split()[0])
    return Machine(
        cores=os.cpu_count() or 0,
        cpu_model=_field("/proc/cpuinfo", "model name"),
        memory_gib=round(mem_kib / 1024 / 1024, 1),
        kernel=platform.release(),
        os=_field("/etc/os-release", "PRETTY_NAME").strip('"'),
        python=platform.python_version(),
        wrk=_first_line(["wrk", "-v"]),
        uv=_first_line(["uv", "--version"]),
        shipyard=version("shipyard"),
        shipyard_commit=_commit(),
    )
