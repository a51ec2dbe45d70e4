"""A bytecode cache for every target, kept under ``bench/_work/pycache/``.

This machine sets ``PYTHONDONTWRITEBYTECODE=1``, so without help every process would compile
scikit-learn, SciPy and the servers from source at each start (about 3 s here), which no
production host does. Each target's processes get ``PYTHONPYCACHEPREFIX`` pointing at a cache
that is filled once, before anything is measured, by ``compileall`` over the interpreter's
site-packages (plus Shipyard's ``src/``). Nothing is written into the virtualenvs themselves.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench.settings import WORK

CACHE = WORK / "pycache"
COMPILE_TIMEOUT_S = 1200


def env(name: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with target ``name``'s bytecode cache."""
    result = dict(os.environ if base is None else base)
    result.pop("PYTHONDONTWRITEBYTECODE", None)
    result["PYTHONPYCACHEPREFIX"] = str(CACHE / name)
    return result


def _site_packages(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def precompile(name: str, python: Path, extra: tuple[Path, ...] = ()) -> None:
    """Fill target ``name``'s cache for ``python``'s site-packages and ``extra`` folders.

    Raises:
        subprocess.CalledProcessError: compileall failed outright.
    """
    stamp = CACHE / f"{name}.done"
    if stamp.is_file():
        return
    folders = [_site_packages(python), *map(str, extra)]
    subprocess.run(
        [str(python), "-m", "compileall", "-q", "-j", "0", *folders],
        env=env(name),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a few test files of some packages do not compile
        timeout=COMPILE_TIMEOUT_S,
        check=False,
    )
    stamp.write_text("compiled\n")
