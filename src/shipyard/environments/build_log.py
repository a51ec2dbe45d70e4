"""The log of one environment build: what ``uv`` printed while resolving and installing, bounded.

Each build (see :mod:`shipyard.environments.manager`) appends to ``logs/<build>.log``. A file
that grows past ``max_bytes`` becomes ``<build>.log.1`` (replacing an older one) and a new file
starts with a line saying output was dropped, so a build never keeps more than about twice
``max_bytes`` on disk however long it runs or however often it is retried. :func:`tail`
reads the end of both files back for the API: the resolver's own text of a failure is the last
thing it printed, so the end is what matters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BYTES = 256 * 1024
DROPPED = "[... earlier output of this build was dropped: the log keeps its last {kib} KiB]"


class BoundedLog:
    """Append-only text log rotated to ``<name>.1`` when it passes ``max_bytes``."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1024:
            raise ValueError(f"max_bytes={max_bytes} is too small: give at least 1024")
        self.path = path
        self.max_bytes = max_bytes

    @property
    def older(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def write(self, line: str) -> None:
        """Append one line (a newline is added); rotate first when the file is full."""
        data = (line.rstrip("\n") + "\n").encode("utf-8", errors="replace")
        if len(data) > self.max_bytes // 2:  # one absurd line must not rotate everything out
            data = data[: self.max_bytes // 2 - 16] + b" [line cut]\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size and size + len(data) > self.max_bytes:
            if self.older.exists():  # its output is lost: say so where the reader looks
                marker = DROPPED.format(kib=self.max_bytes // 1024) + "\n"
                data = marker.encode() + data
            os.replace(self.path, self.older)
        with self.path.open("ab") as out:
            out.write(data)


@dataclass(frozen=True)
class Tail:
    lines: list[str]
    truncated: bool  # earlier output exists that is not in ``lines``
    size_bytes: int  # bytes kept on disk for this build


def tail(log: BoundedLog, *, lines: int, max_bytes: int) -> Tail:
    """The last ``lines`` lines of the log, at most ``max_bytes`` of it, oldest first."""
    parts = [p for p in (log.older, log.path) if p.is_file()]
    sizes = [p.stat().st_size for p in parts]
    total = sum(sizes)
    want = min(total, max_bytes)
    chunks: list[bytes] = []
    remaining = want
    for path, size in reversed(list(zip(parts, sizes, strict=True))):
        if remaining <= 0:
            break
        take = min(size, remaining)
        with path.open("rb") as src:
            src.seek(size - take)
            chunks.insert(0, src.read(take))
        remaining -= take
    text = b"".join(chunks).decode("utf-8", errors="replace")
    found = text.splitlines()
    cut = want < total
    if cut and found:
        found = found[1:]  # the first line read may start in the middle
    marker = DROPPED[:40]
    shown = [line for line in found if not line.startswith(marker)]
    kept = shown[-lines:] if lines else []
    truncated = cut or len(kept) < len(shown) or len(shown) < len(found)
    return Tail(lines=kept, truncated=truncated, size_bytes=total)
