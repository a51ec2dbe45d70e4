"""ArtifactStorage stores uploads atomically, read-only, and cleans up after failures."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import InvalidInput, PayloadTooLarge, ShipyardError
from shipyard.registry import ArtifactStorage, safe_extract, tree_checksum
from tests.unit.registry.tarballs import tar_gz

pytestmark = pytest.mark.unit

MIB = 2**20
FILES = {"model.joblib": b"w" * 1000, "src/predictor.py": b"class Predictor: ...\n"}


@pytest.fixture
def storage(tmp_path: Path) -> ArtifactStorage:
    return ArtifactStorage(tmp_path / "artifacts", max_upload_bytes=MIB, max_unpacked_bytes=MIB)


def _leftovers(storage: ArtifactStorage) -> list[Path]:
    return list((storage.root / ".incoming").iterdir())


def test_ingest_stores_a_read_only_tree(storage: ArtifactStorage) -> None:
    stored = storage.ingest("p1", "iris", io.BytesIO(tar_gz(FILES)))
    assert stored.path.parent == storage.root / "p1" / "iris"
    assert stored.files == ["model.joblib", "src/predictor.py"]
    assert stored.size_bytes == sum(len(c) for c in FILES.values())
    assert stored.checksum == tree_checksum(stored.path)
    assert (stored.path / "src/predictor.py").read_bytes() == FILES["src/predictor.py"]
    for path in [stored.path, *stored.path.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path
    assert _leftovers(storage) == []


def test_same_content_gets_its_own_directory_and_same_checksum(
    storage: ArtifactStorage,
) -> None:
    one = storage.ingest("p1", "iris", io.BytesIO(tar_gz(FILES)))
    two = storage.ingest("p1", "iris", io.BytesIO(tar_gz(dict(reversed(FILES.items())))))
    assert one.path != two.path
    assert one.checksum == two.checksum


def test_upload_over_the_limit_is_refused_while_copying(storage: ArtifactStorage) -> None:
    class Endless(io.RawIOBase):
        reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            self.reads += 1
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(PayloadTooLarge, match=r"1 MiB.*SHIPYARD_MAX_UPLOAD_MB"):
        storage.ingest("p1", "iris", io.BufferedReader(stream))
    assert stream.reads < 100
    assert _leftovers(storage) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (tar_gz(dirs=("only-a-dir",)), "contains no files"),
        (tar_gz({"../x": b"1"}), r"'\.\./x'"),
        (tar_gz({"big": b"x" * (MIB + 1)}), "exceed"),
        (b"garbage", "gzip"),
    ],
    ids=["empty", "escape", "unpacked-too-large", "garbage"],
)
def test_bad_archives_leave_nothing_behind(
    storage: ArtifactStorage, data: bytes, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        storage.ingest("p1", "iris", io.BytesIO(data))
    assert _leftovers(storage) == []
    assert not (storage.root / "p1").exists()


@pytest.mark.parametrize(("project", "model"), [("p1", "../x"), ("..", "iris"), ("p1", "")])
def test_names_must_be_single_path_components(
    storage: ArtifactStorage, project: str, model: str
) -> None:
    with pytest.raises(InvalidInput, match="artifact directory"):
        storage.ingest(project, model, io.BytesIO(tar_gz(FILES)))


def test_discard_removes_a_read_only_artifact(storage: ArtifactStorage) -> None:
    stored = storage.ingest("p1", "iris", io.BytesIO(tar_gz(FILES)))
    storage.discard(stored.path)
    assert not stored.path.exists()
    storage.discard(stored.path)  # already gone: nothing to do


def test_discard_refuses_paths_outside_the_root(storage: ArtifactStorage, tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    for path in (outside, storage.root, storage.root / ".." / "precious"):
        with pytest.raises(ShipyardError, match="refusing"):
            storage.discard(path)
    assert outside.exists()


def test_archive_round_trips(storage: ArtifactStorage, tmp_path: Path) -> None:
    stored = storage.ingest("p1", "iris", io.BytesIO(tar_gz(FILES)))
    packed = b"".join(storage.archive(stored.path))
    (tmp_path / "back").mkdir()
    files = safe_extract(io.BytesIO(packed), tmp_path / "back", max_unpacked_bytes=MIB)
    assert files == stored.files
    assert tree_checksum(tmp_path / "back") == stored.checksum
