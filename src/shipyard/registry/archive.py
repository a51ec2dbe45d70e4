"""Model artifact archives: safe extraction, a deterministic tree checksum, and packing.

Layer: ``shipyard.registry`` (stdlib only besides ``shipyard.errors``). An upload is a gzip
tar. ``safe_extract`` writes its regular files and directories itself, never through
``tarfile.extract``, and refuses anything that could reach outside the destination or that is
not plain data. ``pack_tree`` streams a tree back out as a reproducible gzip tar.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from shipyard.errors import InvalidInput

CHUNK_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
"""Largest long-name or PAX extended header accepted (tarfile would read whatever one claims)."""
MAX_ENTRIES = 10_000
"""Most entries (files and folders) in one artifact."""
MAX_NAME_BYTES = 1024
"""Longest entry path, in UTF-8 bytes (a component: 255, the filesystems' limit)."""
_EXTENDED = frozenset(
    {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE}
    | {tarfile.SOLARIS_XHDTYPE}
)
_ARCHIVE_MTIME = 946_684_800  # 2000-01-01T00:00:00Z: packed archives do not depend on when
_BAD_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, OSError)


class _BoundedTarInfo(tarfile.TarInfo):
    """A header whose extended headers (GNU long names, PAX) are refused past
    :data:`MAX_HEADER_BYTES` before tarfile reads the size they claim into memory."""

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED and self.size > MAX_HEADER_BYTES:
            raise InvalidInput(
                f"artifact is rejected: an extended tar header claims {self.size} bytes "
                f"(at most {MAX_HEADER_BYTES})"
            )
        member: tarfile.TarInfo = super()._proc_member(tar)  # type: ignore[misc]
        return member


def _check_name(name: str) -> None:
    """Refuse names that are not plain UTF-8 text of a sane length (no server path in the
    message: only the name, shown escaped)."""
    shown = repr(name[:200])
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"archive entry {shown} is rejected: its name is not UTF-8") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(f"archive entry {shown} is rejected: control characters in its name")
    if len(encoded) > MAX_NAME_BYTES or any(
        len(part.encode()) > 255 for part in PurePosixPath(name).parts
    ):
        raise InvalidInput(
            f"archive entry {shown} is rejected: its path is over {MAX_NAME_BYTES} bytes or a "
            "component over 255"
        )


def _entry_path(member: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's relative path, or None for the archive root ("." / "./")."""
    name = member.name
    _check_name(name)
    if name.startswith("/") or PurePosixPath(name).is_absolute():
        raise InvalidInput(f"archive entry {name!r} is rejected: absolute paths are not allowed")
    parts = [part for part in PurePosixPath(name).parts if part != "."]
    if ".." in parts:
        raise InvalidInput(
            f"archive entry {name!r} is rejected: '..' would escape the model directory"
        )
    return PurePosixPath(*parts) if parts else None


def _check_type(member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise InvalidInput(
            f"archive entry {member.name!r} is rejected: symbolic and hard links are not "
            "allowed (an artifact may hold only regular files and directories)"
        )
    if not (member.isfile() or member.isdir()):
        raise InvalidInput(
            f"archive entry {member.name!r} is rejected: devices, FIFOs and other special "
            "files are not allowed (only regular files and directories)"
        )


def _too_large(name: str, limit: int) -> InvalidInput:
    return InvalidInput(
        f"archive entry {name!r} is rejected: the unpacked artifact would exceed "
        f"{limit} bytes ({limit / 2**20:.0f} MiB, setting SHIPYARD_MAX_UNPACKED_MB)"
    )


def _corrupt(exc: BaseException) -> InvalidInput:
    return InvalidInput(f"artifact is not a valid gzip-compressed tar archive: {exc}")


def _open_tar(stream: BinaryIO) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|gz", tarinfo=_BoundedTarInfo)
    except _BAD_ARCHIVE as exc:
        raise _corrupt(exc) from exc


def _next_member(tar: tarfile.TarFile) -> tarfile.TarInfo | None:
    try:
        return tar.next()
    except _BAD_ARCHIVE as exc:
        raise _corrupt(exc) from exc


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, budget: int) -> int:
    """Copy one regular file out of the archive; returns the bytes written.

    Raises ``_Oversize`` past ``budget`` bytes; local write errors propagate as ``OSError``.
    """
    if member.size > budget:
        raise _Oversize
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - isfile() members always have data
        raise InvalidInput(f"archive entry {member.name!r} has no data")
    written = 0
    with source, open(target, "xb") as out:
        os.fchmod(out.fileno(), 0o755 if member.mode & 0o111 else 0o644)
        while True:
            try:
                chunk = source.read(CHUNK_BYTES)
            except _BAD_ARCHIVE as exc:
                raise _corrupt(exc) from exc
            if not chunk:
                return written
            written += len(chunk)
            if written > budget:
                raise _Oversize
            out.write(chunk)


class _Oversize(Exception):
    """The unpacked size went over the limit (turned into ``InvalidInput`` by the caller)."""


def _extract_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, budget: int
) -> int:
    try:
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            return 0
        target.parent.mkdir(parents=True, exist_ok=True)
        return _write_file(tar, member, target, budget)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise InvalidInput(
            f"archive entry {member.name!r} is rejected: its path clashes with another entry"
        ) from None
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL):
            raise InvalidInput(
                f"archive entry {member.name!r} is rejected: the filesystem refuses its name "
                f"({os.strerror(exc.errno)})"
            ) from None
        raise


def safe_extract(archive: BinaryIO | Path, dest: Path, *, max_unpacked_bytes: int) -> list[str]:
    """Unpack a gzip tar into ``dest`` (an existing, empty directory), refusing unsafe entries.

    Rejected: absolute paths, ``..`` components, symbolic and hard links (all of them, the
    simplest rule that is safe), devices, FIFOs, duplicate entries, names that are not UTF-8
    text or too long, extended headers over :data:`MAX_HEADER_BYTES`, more than
    :data:`MAX_ENTRIES` entries, and a total unpacked size over ``max_unpacked_bytes``. The
    stream is read once, front to back.

    Returns:
        The relative POSIX paths of the regular files written, sorted.

    Raises:
        InvalidInput: the archive is not a gzip tar or has an unacceptable entry; ``dest``
            may then hold part of the content and should be removed by the caller.
        OSError: writing under ``dest`` failed (disk full, permissions).
    """
    if isinstance(archive, Path):
        with open(archive, "rb") as stream:
            return safe_extract(stream, dest, max_unpacked_bytes=max_unpacked_bytes)
    files: list[str] = []
    seen: set[PurePosixPath] = set()
    total = 0
    with _open_tar(archive) as tar:
        while (member := _next_member(tar)) is not None:
            _check_type(member)
            relative = _entry_path(member)
            if relative is None:
                continue
            if relative in seen:
                raise InvalidInput(f"archive entry {member.name!r} is rejected: it appears twice")
            if len(seen) >= MAX_ENTRIES:
                raise InvalidInput(
                    f"artifact is rejected: more than {MAX_ENTRIES} files and folders"
                )
            seen.add(relative)
            target = dest.joinpath(*relative.parts)
            try:
                total += _extract_member(tar, member, target, max_unpacked_bytes - total)
            except _Oversize:
                raise _too_large(member.name, max_unpacked_bytes) from None
            if member.isfile():
                files.append(relative.as_posix())
    return sorted(files)


def _regular_files(root: Path) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                out.append((path.relative_to(root).as_posix(), path))
    return sorted(out)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def tree_checksum(root: Path) -> str:
    """``"sha256:<hex>"`` over the regular files under ``root`` (directories do not count).

    The digest covers, for each file in sorted relative-path order, the line
    ``<posix path> NUL <file sha256 hex> NUL``; it depends only on names and contents.
    """
    digest = hashlib.sha256()
    for relative, path in _regular_files(root):
        digest.update(relative.encode() + b"\0" + file_sha256(path).encode() + b"\0")
    return "sha256:" + digest.hexdigest()


def _tar_entries(root: Path) -> list[tuple[str, Path]]:
    """Every directory and regular file under ``root``, by relative POSIX path."""
    out: list[tuple[str, Path]] = []
    for directory, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(directory, name)
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                continue
            out.append((path.relative_to(root).as_posix(), path))
    return sorted(out)


def _header(name: str, path: Path) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = _ARCHIVE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if path.is_dir():
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    return info


def _tar_blocks(root: Path) -> Iterator[bytes]:
    """The uncompressed tar stream (PAX format) of ``root``, in bounded-size pieces."""
    written = 0
    for name, path in _tar_entries(root):
        info = _header(name, path)
        header = info.tobuf(format=tarfile.PAX_FORMAT)
        written += len(header)
        yield header
        if info.isdir():
            continue
        with open(path, "rb") as stream:
            remaining = info.size
            while remaining > 0 and (chunk := stream.read(min(CHUNK_BYTES, remaining))):
                remaining -= len(chunk)
                written += len(chunk)
                yield chunk
        if remaining:
            raise OSError(f"{path} shrank while it was being packed")
        padding = -info.size % tarfile.BLOCKSIZE
        written += padding
        yield b"\0" * padding
    end = 2 * tarfile.BLOCKSIZE
    end += -(written + end) % tarfile.RECORDSIZE
    yield b"\0" * end


def pack_tree(root: Path) -> Iterator[bytes]:
    """Stream ``root`` as a gzip tar: sorted entries, fixed mtimes, owners and modes.

    The same tree always gives the same bytes, so an artifact downloaded twice is identical.
    Only directories and regular files are packed; memory use stays bounded for any size.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for block in _tar_blocks(root):
        if out := compressor.compress(block):
            yield out
    yield compressor.flush()
