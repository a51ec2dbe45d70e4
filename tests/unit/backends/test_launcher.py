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
    assert launcher.parse(argv) == (
        ["/a/cgroup.procs", "/b/cgroup.procs"],
        [0, 3],
        True,
        ["/venv/python", "-m", "x"],
    )
    for bad in (
        ["--cpus"],
        [
            "--",
        ],
        ["--bogus", "--", "x"],
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
