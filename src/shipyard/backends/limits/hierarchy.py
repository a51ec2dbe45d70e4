"""Which cgroup hierarchy Shipyard may use, and where its *own* cgroup is in it.

Read from ``/proc/self/cgroup`` (our cgroup path per controller) and ``/proc/self/mountinfo``
(where each hierarchy is mounted, and from which root). Used by
:mod:`shipyard.backends.limits.enforcement` to choose between cgroup v2, cgroup v1 and the
best-effort fallback; :mod:`shipyard.backends.limits.cgroups` then creates replica cgroups only
beneath the directories found here. Parsing is pure; only :func:`detect_hierarchy` reads files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

V1_REQUIRED = ("memory", "cpu")
V1_OPTIONAL = ("cpuacct",)
V2_REQUIRED = ("cpu", "memory")
_V1_CONTROLLERS = frozenset({*V1_REQUIRED, *V1_OPTIONAL, "cpuset"})
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    """One cgroup filesystem mount: the hierarchy path it exposes at ``mountpoint``."""

    root: str
    mountpoint: str
    fstype: str
    options: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Hierarchy:
    """The cgroup version in use and our own cgroup directory per controller."""

    version: int  # 1 or 2
    own: dict[str, Path]  # controller -> directory of the cgroup Shipyard runs in

    def dirs(self) -> list[Path]:
        """The distinct own directories (v1 ``cpu`` and ``cpuacct`` may share one)."""
        return sorted(set(self.own.values()))


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Controller -> cgroup path from ``/proc/<pid>/cgroup``; the v2 entry is under ``""``."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            paths[""] = path
        for name in controllers.split(","):
            if name:
                paths[name] = path
    return paths


def _unescape(field_: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field_)


def parse_mountinfo(text: str) -> list[Mount]:
    """The cgroup and cgroup2 mounts listed in ``/proc/<pid>/mountinfo``."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        options = frozenset(tail[2].split(","))
        mounts.append(Mount(_unescape(fields[3]), _unescape(fields[4]), tail[0], options))
    return mounts


def own_directory(mount: Mount, cgroup_path: str, root: Path) -> Path | None:
    """Where ``cgroup_path`` (as /proc/self/cgroup names it) appears under ``mount``, if at all."""
    own, base = PurePosixPath(cgroup_path), PurePosixPath(mount.root)
    if not own.is_relative_to(base):
        return None
    relative = own.relative_to(base)
    return root / mount.mountpoint.lstrip("/") / relative


def _controllers_file(directory: Path) -> set[str]:
    try:
        return set((directory / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def find_v2(paths: dict[str, str], mounts: list[Mount], root: Path) -> tuple[Hierarchy | None, str]:
    """A v2 hierarchy when our unified cgroup offers the cpu and memory controllers."""
    if "" not in paths:
        return None, "no cgroup v2 entry in /proc/self/cgroup"
    for mount in (m for m in mounts if m.fstype == "cgroup2"):
        directory = own_directory(mount, paths[""], root)
        if directory is None:
            continue
        missing = [c for c in V2_REQUIRED if c not in _controllers_file(directory)]
        if missing:
            return None, f"cgroup v2 at {directory} lacks the {'+'.join(missing)} controller"
        return Hierarchy(2, dict.fromkeys(V2_REQUIRED, directory)), ""
    return None, "our cgroup v2 path is not mounted"


def find_v1(paths: dict[str, str], mounts: list[Mount], root: Path) -> tuple[Hierarchy | None, str]:
    """A v1 hierarchy when the memory and cpu controllers are mounted over our own cgroups."""
    own: dict[str, Path] = {}
    for mount in (m for m in mounts if m.fstype == "cgroup"):
        for controller in sorted(mount.options & _V1_CONTROLLERS):
            if controller in own or controller not in paths:
                continue
            directory = own_directory(mount, paths[controller], root)
            if directory is not None:
                own[controller] = directory
    missing = [c for c in V1_REQUIRED if c not in own]
    if missing:
        return None, f"cgroup v1 {' and '.join(missing)} controller not mounted over our cgroup"
    wanted = {*V1_REQUIRED, *V1_OPTIONAL}
    return Hierarchy(1, {c: d for c, d in own.items() if c in wanted}), ""


def detect_hierarchy(
    proc: Path = Path("/proc"), root: Path = Path("/")
) -> tuple[Hierarchy | None, str]:
    """The usable hierarchy (v2 preferred, then v1), or None and the reason why there is none.

    Args:
        proc: the procfs mount; ``proc/self/cgroup`` and ``proc/self/mountinfo`` are read.
        root: prefixed to every mount point (a fake tree in tests; ``/`` for real).
    """
    try:
        paths = parse_proc_cgroup((proc / "self" / "cgroup").read_text())
        mounts = parse_mountinfo((proc / "self" / "mountinfo").read_text())
    except OSError as exc:
        return None, f"cannot read our cgroup membership ({exc.strerror or exc})"
    v2, why_not_v2 = find_v2(paths, mounts, root)
    if v2 is not None:
        return v2, ""
    v1, why_not_v1 = find_v1(paths, mounts, root)
    if v1 is not None:
        return v1, ""
    return None, f"{why_not_v2}; {why_not_v1}"
