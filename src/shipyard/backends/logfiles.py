"""Files the LOCAL backend keeps per replica: its log (appended by the replica, read back by
tail) and, written whole or not at all, its handle."""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from shipyard.backends.protocol import LogLine

LOAD_FAILED_LINE = "shipyard-runtime: loading the model failed"
"""What the replica runtime prints after the traceback of a model that failed to load."""


def load_error(lines: list[str]) -> str | None:
    """The exception line (``RuntimeError: weights file is corrupt``) of the last failed load
    in a replica's log lines, None when there is none."""
    if LOAD_FAILED_LINE not in lines:
        return None
    end = len(lines) - 1 - lines[::-1].index(LOAD_FAILED_LINE)
    for line in reversed(lines[:end]):
        text = line.rstrip()
        if text and not text[0].isspace() and not text.startswith("Traceback"):
            return text[:300]
    return None


class LogFiles:
    """``<logs>/<deployment>/<component>/<replica>.log``."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def path(self, deployment_id: str, component: str, replica_id: str) -> Path:
        return self._root / deployment_id / component / f"{replica_id}.log"

    def lines(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        """The last ``tail`` lines of each replica's log, oldest log first."""
        folder = self._root / deployment_id / component
        files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
        out: list[LogLine] = []
        for path in files:
            replica_id = path.stem
            for line in _tail(path, tail):
                out.append(LogLine(replica_id=replica_id, line=line))
        return out

    def tail(self, deployment_id: str, component: str, replica_id: str, lines: int) -> list[str]:
        path = self.path(deployment_id, component, replica_id)
        return _tail(path, lines) if path.is_file() else []

    def note(self, deployment_id: str, component: str, replica_id: str, line: str) -> None:
        """Append a line of Shipyard's own to a replica's log (e.g. why it was killed)."""
        path = self.path(deployment_id, component, replica_id)
        if path.parent.is_dir():
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"shipyard: {line}\n")

    def forget(self, deployment_id: str) -> None:
        folder = self._root / deployment_id
        if folder.is_dir():
            for path in sorted(folder.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            folder.rmdir()


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a crash mid-write never leaves half a handle)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _tail(path: Path, lines: int, chunk: int = 65536) -> list[str]:
    """The last ``lines`` lines of a text file, reading only its end."""
    if lines <= 0:
        return []
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - chunk * max(1, lines // 500 + 1)))
        data = handle.read()
    text = data.decode("utf-8", errors="replace").splitlines()
    return list(deque(text, maxlen=lines))
