"""Client-side model archives: pack a directory (or one file) as a gzip tar, unpack one safely.

Archives are written to a temporary file and streamed from there, so a model of any size never
has to fit in memory. Paths inside the archive are relative to the model directory (for a single
file: its name). ``__pycache__`` folders and ``*.pyc`` files are left out; symbolic links are
stored as the files they point to.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import InvalidInput


@dataclass(frozen=True)
class PackedModel:
    """A packed model: the archive's path and the relative paths of the files in it."""

    path: Path
    files: tuple[str, ...]

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def model_files(model_path: Path) -> list[tuple[Path, str]]:
    """The (source file, archive name) pairs of a model directory or single file.

    Raises:
        InvalidInput: The path does not exist or holds no files.
    """
    if model_path.is_file():
        return [(model_path, model_path.name)]
    if not model_path.is_dir():
        raise InvalidInput(f"model path {str(model_path)!r} is neither a file nor a directory")
    pairs: list[tuple[Path, str]] = []
    for root, dirs, names in os.walk(model_path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            source = Path(root) / name
            if name.endswith(".pyc") or not source.is_file():
                continue
            pairs.append((source, source.relative_to(model_path).as_posix()))
    if not pairs:
        raise InvalidInput(f"model directory {str(model_path)!r} holds no files")
    return pairs


@contextmanager
def packed(model_path: str | os.PathLike[str]) -> Iterator[PackedModel]:
    """Pack ``model_path`` into a temporary ``.tar.gz``, removed when the block ends.

    Raises:
        InvalidInput: The path does not exist or holds no files.
    """
    pairs = model_files(Path(model_path))
    fd, name = tempfile.mkstemp(prefix="shipyard-model-", suffix=".tar.gz")
    os.close(fd)
    archive = Path(name)
    try:
        with tarfile.open(archive, "w:gz") as tar:
            for source, arcname in pairs:
                tar.add(source, arcname=arcname, recursive=False)
        yield PackedModel(path=archive, files=tuple(arcname for _, arcname in pairs))
    finally:
        archive.unlink(missing_ok=True)


def unpack(archive: Path, dest_dir: Path) -> None:
    """Extract ``archive`` into ``dest_dir``, refusing absolute paths, ``..`` and devices."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest_dir, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidInput(f"cannot unpack the model archive: {exc}") from exc
