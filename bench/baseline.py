"""The bare process every replica's memory is compared with.

``python -c "import sklearn, joblib; m = joblib.load(...)"`` on the interpreter (and so the
scikit-learn build) of the target's workers, with the target's environment (bytecode cache),
held alive while its ``VmRSS`` and ``Pss`` are read.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.procs import memory_kib

SCRIPT = (
    "import sys, sklearn, joblib; m = joblib.load(sys.argv[1]); "
    "print('loaded', flush=True); sys.stdin.read()"
)


@dataclass(frozen=True)
class Bare:
    """Resident memory of the bare process."""

    python: str
    rss_mib: float
    pss_mib: float


def bare(python: Path, model: Path, env: dict[str, str], *, timeout_s: float = 120.0) -> Bare:
    """Start the bare process on ``python``, read its memory once the model is loaded, end it.

    Raises:
        RuntimeError: it did not load the model.
    """
    with subprocess.Popen(
        [str(python), "-c", SCRIPT, str(model)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "loaded":
                raise RuntimeError(f"the bare process on {python} did not load the model")
            mem = memory_kib(proc.pid)
            if mem is None:
                raise RuntimeError("the bare process vanished")
        finally:
            proc.kill()
            proc.wait(timeout=timeout_s)
    return Bare(str(python), mem[0] / 1024, mem[1] / 1024)
