"""The replica runtime as users' environments see it: a folder put on ``PYTHONPATH``.

Only ``shipyard/__init__.py``, ``shipyard/errors.py``, ``shipyard/http1``, ``shipyard/wire`` and
``shipyard/runtime`` are copied (the runtime imports nothing else of ours; an import-linter
contract keeps it so), into a folder named by the hash of their contents: a new Shipyard version
gets a new folder, replicas still running the old one keep theirs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from shipyard.runtime.files import runtime_sources


def runtime_overlay(base_dir: Path) -> Path:
    """The folder to put on ``PYTHONPATH`` (created once per content hash)."""
    sources = runtime_sources()
    digest = hashlib.sha256()
    for path, rel in sources:
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    target = base_dir / digest.hexdigest()[:16]
    if (target / "shipyard" / "runtime").is_dir():
        return target
    base_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".overlay-", dir=base_dir))
    for path, rel in sources:
        dest = tmp / "shipyard" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    try:
        os.rename(tmp, target)
    except OSError:  # another process made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target
