"""Per-project replica identities (issue 18, item 1): ids from project ids, folders closed to
others, a project's model files shared with its gid only."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from shipyard.backends.identity import BASE, SPAN, Identities, closed_folder, project_uid

pytestmark = pytest.mark.unit


def test_each_project_has_its_own_stable_unprivileged_id() -> None:
    ids = {project_uid(f"{n:032x}") for n in range(1000)}
    assert len(ids) == 1000 and all(BASE <= i < BASE + SPAN for i in ids)
    assert project_uid("abc") == project_uid("abc")


def test_closed_folder_names_the_first_folder_others_cannot_enter() -> None:
    root = Path(tempfile.mkdtemp(prefix="closed-"))  # under /tmp, which everyone may enter
    try:
        inner = root / "a" / "b"
        inner.mkdir(parents=True)
        for folder in (root, root / "a", inner):
            folder.chmod(0o755)
        assert closed_folder(inner) is None
        (root / "a").chmod(0o700)
        assert closed_folder(inner) == root / "a"
        assert closed_folder(root / "missing" / "x") == root / "missing"
    finally:
        shutil.rmtree(root)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_prepare_shares_the_model_with_the_projects_gid_only(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    model_dir = artifacts / "p1" / "iris" / "v1"
    (model_dir / "sub").mkdir(parents=True)
    (model_dir / "model.joblib").write_bytes(b"x")
    (model_dir / "model.joblib").chmod(0o400)
    (model_dir / "sub" / "run.sh").write_bytes(b"x")
    (model_dir / "sub" / "run.sh").chmod(0o500)
    other = artifacts / "p2" / "m" / "v1"
    other.mkdir(parents=True)
    identity = Identities(tmp_path / "replicas", artifacts).prepare("p1", model_dir)
    assert identity.uid == identity.gid == project_uid("p1")
    home = identity.home.stat()
    assert (home.st_uid, stat.S_IMODE(home.st_mode)) == (identity.uid, 0o700)
    modes = {
        path.relative_to(artifacts).as_posix(): (
            path.stat().st_gid,
            stat.S_IMODE(path.stat().st_mode),
        )
        for path in [artifacts / "p1", artifacts / "p1" / "iris", *model_dir.rglob("*"), model_dir]
    }
    gid = identity.gid
    assert modes["p1"] == (gid, 0o750) and modes["p1/iris"] == (gid, 0o750)
    assert modes["p1/iris/v1/model.joblib"] == (gid, 0o440)
    assert modes["p1/iris/v1/sub/run.sh"] == (gid, 0o550)
    assert modes["p1/iris/v1/sub"][0] == gid and not modes["p1/iris/v1/sub"][1] & 0o007
    assert (artifacts / "p2").stat().st_gid != gid  # another project's folder is untouched
    with pytest.raises(PermissionError, match="outside the artifacts"):
        Identities(tmp_path / "replicas", artifacts).prepare("p1", tmp_path)
