"""The replica launcher: confines itself (cgroups, CPUs) and execs, with no preexec_fn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.backends import launcher
from shipyard.backends.launcher import launch_command

pytestmark = pytest.mark.unit


def test_arguments_name_cgroups_cpus_and_the_command() -> None:
    argv = ["--cgroup-procs", "/a/cgroup.procs", "--cgroup-procs", "/b/cgroup.procs"]
    argv += ["--cpus", "0,3", "--die-with-parent", "--", "/venv/python", "-m", "x"]
    assert launcher.parse(argv) == launcher.Launch(
        ["/a/cgroup.procs", "/b/cgroup.procs"],
        [0, 3],
        True,
        ["/venv/python", "-m", "x"],
    )
    dropped = launcher.parse(["--uid", "1000000007", "--gid", "1000000007", "--", "x"])
    assert (dropped.uid, dropped.gid) == (1000000007, 1000000007)
    for bad in (
        ["--cpus"],
        [
            "--",
        ],
        ["--bogus", "--", "x"],
        ["--uid", "5", "--", "x"],  # without --gid
        ["--uid", "0", "--gid", "0", "--", "x"],  # root is no drop
        ["--uid", "-1", "--gid", "5", "--", "x"],
        ["--uid", "x", "--gid", "5", "--", "x"],
    ):
        with pytest.raises(ValueError):
            launcher.parse(bad)


def test_it_joins_every_cgroup_before_pinning() -> None:
    calls: list[tuple[str, object]] = []
    launcher.confine(
        ["/a/cgroup.procs", "/b/cgroup.procs"],
        [1],
        write=lambda path, data: calls.append(("write", (path, data))),
        pin=lambda cpus: calls.append(("pin", list(cpus))),
    )
    assert calls == [
        ("write", ("/a/cgroup.procs", b"0")),
        ("write", ("/b/cgroup.procs", b"0")),
        ("pin", [1]),
    ]


def test_a_cgroup_it_cannot_join_means_the_replica_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    argv = [sys.executable, "-S", launcher.__file__, "--cgroup-procs", str(tmp_path / "no/such")]
    done = subprocess.run([*argv, "--", *command], capture_output=True, text=True, check=False)
    assert done.returncode == launcher.FAILED_TO_CONFINE
    assert "cannot start the replica confined" in done.stderr and not marker.exists()
    procs = tmp_path / "cgroup.procs"  # a plain file stands in for the cgroup's
    procs.write_text("")
    argv = [sys.executable, "-S", launcher.__file__, "--cgroup-procs", str(procs)]
    done = subprocess.run([*argv, "--", *command], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and marker.exists() and procs.read_text() == "0"


def test_the_backend_builds_the_launch_from_the_enforcements_setup() -> None:
    class Limits:
        def fork_setup(self) -> dict[str, list[str] | list[int] | int]:
            return {"cgroup_procs": ["/cg/cpu/r/cgroup.procs"], "cpus": [2, 3], "threads": 2}

    command = launch_command(Limits().fork_setup(), ["/venv/bin/python", "-m", "shipyard.runtime"])
    assert command[:3] == [sys.executable, "-S", launcher.__file__]
    assert command[3:] == [
        "--cgroup-procs", "/cg/cpu/r/cgroup.procs", "--cpus", "2,3",
        "--", "/venv/bin/python", "-m", "shipyard.runtime",
    ]  # fmt: skip


class FakeIds:
    """The id calls of os, recorded; ``regain`` says whether setuid(0) would succeed."""

    def __init__(self, regain: bool = False) -> None:
        self.calls: list[tuple[str, object]] = []
        self.uid = self.gid = 0
        self.regain = regain

    def setgroups(self, groups: list[int], /) -> None:
        self.calls.append(("setgroups", groups))

    def setgid(self, gid: int, /) -> None:
        self.calls.append(("setgid", gid))
        self.gid = gid

    def setuid(self, uid: int, /) -> None:
        if uid == 0 and self.uid != 0 and not self.regain:
            raise PermissionError("not permitted")
        self.calls.append(("setuid", uid))
        self.uid = uid

    def getuid(self) -> int:
        return self.uid

    def getgid(self) -> int:
        return self.gid


def test_privileges_drop_groups_then_gid_then_uid_for_good() -> None:
    ids = FakeIds()
    launcher.drop_privileges(1000000007, 1000000008, ids=ids)
    assert ids.calls == [("setgroups", []), ("setgid", 1000000008), ("setuid", 1000000007)]
    with pytest.raises(OSError, match="regained"):
        launcher.drop_privileges(1000000007, 1000000008, ids=FakeIds(regain=True))


def test_the_command_names_the_uid_when_asked() -> None:
    command = launch_command({}, ["/venv/python", "-m", "x"], uid=1000000007)
    assert command[3:7] == ["--uid", "1000000007", "--gid", "1000000007"]
    assert launcher.parse(command[3:]).uid == 1000000007
