"""safe_extract refuses unsafe archives; tree_checksum and pack_tree are deterministic."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from shipyard.errors import InvalidInput
from shipyard.registry import pack_tree, safe_extract, tree_checksum
from tests.unit.registry.tarballs import special, tar_gz

pytestmark = pytest.mark.unit

LIMIT = 1024 * 1024


def _extract(data: bytes, dest: Path, limit: int = LIMIT) -> list[str]:
    dest.mkdir(exist_ok=True)
    return safe_extract(io.BytesIO(data), dest, max_unpacked_bytes=limit)


def test_extracts_files_and_directories(tmp_path: Path) -> None:
    data = tar_gz(
        {"./model.joblib": b"weights", "src/predictor.py": b"class Predictor: ...\n"},
        dirs=("./", "src", "empty/dir"),
    )
    files = _extract(data, tmp_path / "out")
    assert files == ["model.joblib", "src/predictor.py"]
    assert (tmp_path / "out/model.joblib").read_bytes() == b"weights"
    assert (tmp_path / "out/empty/dir").is_dir()


def test_accepts_a_path_and_an_empty_archive(tmp_path: Path) -> None:
    archive = tmp_path / "empty.tar.gz"
    archive.write_bytes(tar_gz())
    (tmp_path / "out").mkdir()
    assert safe_extract(archive, tmp_path / "out", max_unpacked_bytes=LIMIT) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (tar_gz({"../evil.py": b"x"}), "'../evil.py'.*'..'"),
        (tar_gz({"a/../../evil.py": b"x"}), "'a/../../evil.py'.*'..'"),
        (tar_gz({"/etc/cron.d/evil": b"x"}), "'/etc/cron.d/evil'.*absolute"),
        (tar_gz(extra=(special("link", tarfile.SYMTYPE, linkname="/etc"),)), "'link'.*links"),
        (tar_gz(extra=(special("ok", tarfile.SYMTYPE, linkname="x"),)), "'ok'.*links"),
        (tar_gz({"x": b"1"}, extra=(special("h", tarfile.LNKTYPE, linkname="x"),)), "'h'.*links"),
        (tar_gz(extra=(special("pipe", tarfile.FIFOTYPE),)), "'pipe'.*FIFOs"),
        (tar_gz(extra=(special("tty", tarfile.CHRTYPE),)), "'tty'.*devices"),
        (tar_gz({"a": b"1"}, extra=(special("a", tarfile.REGTYPE),)), "'a'.*twice"),
        (tar_gz({"a": b"1", "a/b": b"2"}), "'a/b'.*clashes"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "relative-symlink", "hardlink",
         "fifo", "device", "duplicate", "file-as-dir"],
)  # fmt: skip
def test_rejects_unsafe_entries(tmp_path: Path, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        _extract(data, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_rejects_total_size_over_the_limit(tmp_path: Path) -> None:
    data = tar_gz({"a.bin": b"x" * 600, "b.bin": b"y" * 600})
    with pytest.raises(InvalidInput, match=r"'b\.bin'.*exceed 1000 bytes"):
        _extract(data, tmp_path / "out", limit=1000)
    assert _extract(data, tmp_path / "ok", limit=1200) == ["a.bin", "b.bin"]


@pytest.mark.parametrize(
    "data",
    [b"not a tarball", tar_gz({"a": b"x" * 10_000})[:-40], b"\x1f\x8b" + b"\0" * 30],
    ids=["garbage", "truncated", "bad-gzip"],
)
def test_rejects_what_is_not_a_gzip_tar(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a valid gzip-compressed tar"):
        _extract(data, tmp_path / "out")


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_tree_checksum_follows_the_documented_formula(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"b.txt": b"bee", "a/c.txt": b"sea"})
    lines = b"".join(
        name.encode() + b"\0" + hashlib.sha256(content).hexdigest().encode() + b"\0"
        for name, content in [("a/c.txt", b"sea"), ("b.txt", b"bee")]
    )
    assert tree_checksum(root) == "sha256:" + hashlib.sha256(lines).hexdigest()


def test_tree_checksum_depends_on_names_and_contents_only(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one", {"z.bin": b"1", "a/b.bin": b"2"})
    two = _tree(tmp_path / "two", {"a/b.bin": b"2", "z.bin": b"1"})
    os.utime(two / "z.bin", (0, 0))
    (two / "empty").mkdir()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", tree_checksum(one))
    assert tree_checksum(one) == tree_checksum(two)
    (two / "z.bin").write_bytes(b"changed")
    assert tree_checksum(one) != tree_checksum(two)
    renamed = _tree(tmp_path / "three", {"y.bin": b"1", "a/b.bin": b"2"})
    assert tree_checksum(one) != tree_checksum(renamed)


def test_pack_tree_is_reproducible_and_round_trips(tmp_path: Path) -> None:
    files = {"model.bin": os.urandom(3 * 1024 * 1024 + 7), "src/predictor.py": b"x = 1\n"}
    one = _tree(tmp_path / "one", files)
    (one / "empty").mkdir()
    two = _tree(tmp_path / "two", dict(reversed(files.items())))
    (two / "empty").mkdir()
    os.utime(two / "model.bin", (1, 1))
    packed = b"".join(pack_tree(one))
    assert packed == b"".join(pack_tree(two))
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["empty", "model.bin", "src", "src/predictor.py"]
    assert {m.mtime for m in members} == {946_684_800}
    assert _extract(packed, tmp_path / "back", limit=10 * LIMIT) == sorted(files)
    assert tree_checksum(tmp_path / "back") == tree_checksum(one)
    assert (tmp_path / "back/empty").is_dir()
