"""Builders of gzip tar archives (well-formed and hostile) for the registry tests."""

from __future__ import annotations

import io
import tarfile


def tar_gz(
    files: dict[str, bytes] | None = None,
    *,
    dirs: tuple[str, ...] = (),
    extra: tuple[tarfile.TarInfo, ...] = (),
) -> bytes:
    """A gzip tar holding ``dirs``, then ``files`` (name → content), then raw ``extra`` entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, content in (files or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
        for info in extra:
            tar.addfile(info)
    return buffer.getvalue()


def special(name: str, kind: bytes, *, linkname: str = "") -> tarfile.TarInfo:
    """A data-less entry of tar type ``kind`` (SYMTYPE, LNKTYPE, FIFOTYPE, CHRTYPE...)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info
