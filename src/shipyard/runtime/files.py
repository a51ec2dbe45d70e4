"""The files that make up the replica runtime outside an installed Shipyard.

Users' environments (``environments/overlay.py``) and DOCKER images
(``backends/docker/images.py``) both carry these files: the runtime and the standard-library-only
packages it imports (import-linter keeps that list closed). One list, so the two can never drift.
"""

from __future__ import annotations

from pathlib import Path

RUNTIME_FILES = ("__init__.py", "errors.py", "py.typed")
RUNTIME_PACKAGES = ("http1", "runtime", "wire")


def runtime_sources() -> list[tuple[Path, str]]:
    """The runtime's files: (path, path relative to the ``shipyard`` package)."""
    root = Path(__file__).resolve().parent.parent
    found = [(root / name, name) for name in RUNTIME_FILES if (root / name).is_file()]
    for package in RUNTIME_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            found.append((path, str(path.relative_to(root))))
    return found
