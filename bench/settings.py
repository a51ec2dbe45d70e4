"""What one bench run does: durations, concurrencies, worker counts, pinned peer versions.

Everything a reader needs to judge a result is here, in one place, and copied into
``RESULTS.md``. ``--quick`` only shortens the durations; the rest stays the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / "_work"
"""Scratch folder (gitignored): virtualenvs, model, Shipyard home, logs. Not a dot-folder: the
replica runtime's model-file finder skips every path with a part starting with "." *anywhere*
in it (``runtime/loaders/frameworks.py: _files`` tests the absolute path's parts), so a bare
model file under ``bench/_work/`` (or the default ``~/.shipyard``) is never found."""

LOOPBACK = "127.0.0.1"
MODEL_NAME = "iris"
WORKERS = 2
"""Shipyard replicas, and the worker processes of every peer where that is configurable."""
PYTHON = "3.11"
"""Interpreter of the peers' virtualenvs (the same minor version as the project's)."""

SKLEARN_PINS = ("scikit-learn==1.9.1", "joblib==1.6.0", "numpy==2.4.6")
"""The same scikit-learn stack everywhere, so every server loads the same pickle unchanged."""

PEER_PACKAGES: dict[str, tuple[str, ...]] = {
    "kserve": ("kserve==0.21.0", *SKLEARN_PINS),
    # uvloop 0.22+ raises in asyncio.get_event_loop() outside a loop: its inference workers die.
    "mlserver": ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop==0.21.0", *SKLEARN_PINS),
    # 1.4.40 needs certifi>=2026.10.19, which the package index does not have yet.
    "bentoml": ("bentoml==1.4.39", *SKLEARN_PINS),
    "ray": ("ray[serve]==2.60.0", *SKLEARN_PINS),
}
"""Exact pins of each peer's virtualenv (``uv pip install``; versions recorded per run)."""


@dataclass(frozen=True)
class RunSettings:
    """Durations and load shape of one run."""

    quick: bool
    warmup_s: float = 5.0
    """Load sent to each target (at the highest concurrency) before anything is measured."""
    duration_s: float = 20.0
    """Measured seconds per target, protocol and concurrency."""
    concurrencies: tuple[int, ...] = (1, 8, 32)
    targets: tuple[str, ...] = (
        "shipyard",
        "shipyard+batching",
        "shipyard-docker",
        "kserve",
        "mlserver",
        "bentoml",
        "ray",
    )
    start_timeout_s: float = 240.0
    """Longest wait for a target's first successful prediction after its process starts."""
    ray_start_timeout_s: float = 240.0
    """Ray Serve is skipped with a note when it is not serving within this time."""
    wrk_threads: int = 1
    """One wrk thread keeps the load generator on one core at most (it needs far less)."""

    @classmethod
    def create(cls, *, quick: bool, targets: tuple[str, ...] = ()) -> RunSettings:
        """The full run, or the ``--quick`` one; ``targets`` narrows the targets (development)."""
        base = cls(quick=quick, warmup_s=2.0, duration_s=4.0) if quick else cls(quick=quick)
        return dataclasses.replace(base, targets=targets) if targets else base
