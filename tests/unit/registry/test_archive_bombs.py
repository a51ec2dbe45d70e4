"""Hostile archives (issue 18, item 5): extended headers claiming huge sizes, file-count bombs
and odd names are refused with a 4xx error naming the entry (never a server path), within a
bounded amount of memory."""

from __future__ import annotations

import io
import tarfile
import tracemalloc
import zlib
from pathlib import Path

import pytest

from shipyard.errors import InvalidInput
from shipyard.registry.archive import MAX_ENTRIES, safe_extract

pytestmark = pytest.mark.unit
MIB = 1024 * 1024
BOMB = 200 * MIB


def _header_bomb(kind: bytes) -> bytes:
    """One extended header (GNU long name, or PAX) claiming 200 MiB, followed by 200 MiB of
    zeros: a few hundred KiB compressed, which tarfile alone would read whole into memory."""
    info = tarfile.TarInfo("././@LongLink")
    info.type = kind
    info.size = BOMB
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    out = [packer.compress(info.tobuf(format=tarfile.GNU_FORMAT))]
    zeros = bytes(MIB)
    out += [packer.compress(zeros) for _ in range(BOMB // MIB)]
    return b"".join([*out, packer.flush()])


def _extract(data: bytes, dest: Path) -> list[str]:
    return safe_extract(io.BytesIO(data), dest, max_unpacked_bytes=64 * MIB)


@pytest.mark.parametrize("kind", [tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE, tarfile.XGLTYPE])
def test_an_extended_header_claiming_200_mib_is_refused_in_bounded_memory(
    kind: bytes, tmp_path: Path
) -> None:
    bomb = _header_bomb(kind)
    assert len(bomb) < 512 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput, match="extended tar header claims"):
            _extract(bomb, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MIB  # the gzip stream inflates one read (~1000x) at a time


def _tar(names: list[str], *, pax: bool = False) -> bytes:
    data = io.BytesIO()
    fmt = tarfile.PAX_FORMAT if pax else tarfile.GNU_FORMAT
    with tarfile.open(fileobj=data, mode="w:gz", format=fmt, errors="surrogateescape") as tar:
        for name in names:
            tar.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
    return data.getvalue()


def test_a_file_count_bomb_is_refused_at_the_cap(tmp_path: Path) -> None:
    data = _tar([f"f{n}" for n in range(MAX_ENTRIES + 1)])
    assert len(data) < 200 * 1024  # a small upload
    with pytest.raises(InvalidInput, match=f"more than {MAX_ENTRIES} files"):
        _extract(data, tmp_path)
    assert len(list(tmp_path.iterdir())) <= MAX_ENTRIES


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad\udcffname", "not UTF-8"),
        ("line\nbreak", "control characters"),
        ("nul\x7f", "control characters"),
        ("x" * 300, "component over 255"),
        ("/".join(["d" * 200] * 6), "over 1024 bytes"),
    ],
)
def test_odd_names_are_a_4xx_naming_the_entry_not_the_server(
    name: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        _extract(_tar([name], pax=True), tmp_path)
    assert str(tmp_path) not in str(caught.value) and caught.value.status == 400
