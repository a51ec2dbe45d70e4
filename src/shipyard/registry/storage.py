"""Where uploaded model files live: ``<root>/<project id>/<model name>/<uuid>/``, read-only.

Layer: ``shipyard.registry``. ``ArtifactStorage.ingest`` takes an upload stream, bounds its size
while copying it to ``<root>/.incoming``, extracts it safely, checksums the tree and moves it
into place with one ``rename`` (so a half-written artifact is never visible), then removes write
permission from every file and directory so artifacts are never changed after upload. The
database row that points at the directory is written by the caller (``shipyard.store``); if
that fails, the caller ``discard``s the directory.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shipyard.errors import InvalidInput, PayloadTooLarge, ShipyardError
from shipyard.registry.archive import CHUNK_BYTES, pack_tree, safe_extract, tree_checksum

_INCOMING = ".incoming"
_PATH_COMPONENT = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@dataclass(frozen=True)
class IngestedArtifact:
    """A stored artifact: its directory, tree checksum, unpacked size and sorted file list."""

    path: Path
    checksum: str
    size_bytes: int
    files: list[str]


def _mib(limit: int) -> str:
    return f"{limit / 2**20:g} MiB"


def _walk(root: Path) -> Iterator[Path]:
    """Every directory and file under ``root``, children before their directory, then root."""
    for directory, dirs, files in os.walk(root, topdown=False):
        for name in [*files, *dirs]:
            yield Path(directory, name)
    yield root


def _set_writable(root: Path, writable: bool) -> None:
    for path in _walk(root):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~_WRITE_BITS)


class ArtifactStorage:
    """Stores model version files on the local filesystem under ``root``."""

    def __init__(self, root: Path, *, max_upload_bytes: int, max_unpacked_bytes: int) -> None:
        self.root = root
        self.max_upload_bytes = max_upload_bytes
        self.max_unpacked_bytes = max_unpacked_bytes

    def ingest(self, project_id: str, model_name: str, stream: BinaryIO) -> IngestedArtifact:
        """Store the gzip tar read from ``stream`` as a new, read-only artifact directory.

        Raises:
            PayloadTooLarge: the upload is over ``max_upload_bytes``.
            InvalidInput: the archive is malformed, unsafe, too large unpacked, or has no file.
        """
        for kind, value in (("project id", project_id), ("model name", model_name)):
            if not _PATH_COMPONENT.match(value):
                raise InvalidInput(f"{kind} {value!r} cannot name an artifact directory")
        incoming = self.root / _INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="upload-", dir=incoming))
        try:
            upload = work / "upload.tar.gz"
            self._copy_bounded(stream, upload)
            unpacked = work / "files"
            unpacked.mkdir()
            files = safe_extract(upload, unpacked, max_unpacked_bytes=self.max_unpacked_bytes)
            if not files:
                raise InvalidInput(f"artifact of model {model_name!r} contains no files")
            checksum = tree_checksum(unpacked)
            size = sum((unpacked / name).stat().st_size for name in files)
            final = self.root / project_id / model_name / uuid.uuid4().hex
            final.parent.mkdir(parents=True, exist_ok=True)
            for child in unpacked.iterdir():  # the top directory stays writable until moved
                _set_writable(child, False)
            unpacked.rename(final)
            final.chmod(stat.S_IMODE(final.stat().st_mode) & ~_WRITE_BITS)
            return IngestedArtifact(path=final, checksum=checksum, size_bytes=size, files=files)
        finally:
            self._remove(work)

    def _copy_bounded(self, stream: BinaryIO, target: Path) -> None:
        copied = 0
        with open(target, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                copied += len(chunk)
                if copied > self.max_upload_bytes:
                    raise PayloadTooLarge(
                        f"artifact is larger than the upload limit of "
                        f"{_mib(self.max_upload_bytes)} (setting SHIPYARD_MAX_UPLOAD_MB)",
                        details={"limit_bytes": self.max_upload_bytes},
                    )
                out.write(chunk)

    def discard(self, path: Path) -> None:
        """Delete a stored artifact directory (e.g. when recording its version failed)."""
        root = self.root.resolve()
        target = path.resolve()
        if target == root or not target.is_relative_to(root):
            raise ShipyardError(f"refusing to discard {path}: it is not under {self.root}")
        self._remove(target)

    def discard_project(self, project_id: str) -> None:
        """Delete every artifact of a project (after the project itself was deleted)."""
        if _PATH_COMPONENT.match(project_id):
            self._remove(self.root / project_id)

    def archive(self, path: Path) -> Iterator[bytes]:
        """The artifact directory as a reproducible gzip tar, streamed in pieces."""
        return pack_tree(path)

    @staticmethod
    def _remove(path: Path) -> None:
        if not path.exists():
            return
        _set_writable(path, True)
        shutil.rmtree(path)
