"""The record of each environment build, kept beside its log so it outlives the server process.

:class:`BuildRecords` stores one :class:`~shipyard.spec.environment.EnvironmentBuild` per build
id (``builds/<id>.json`` under the environments folder); the manager writes it when a build
starts, changes step or ends. :func:`visible_builds` is the pure rule of who sees which build:
a project sees the builds its deployments use, an administrator sees every build.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from shipyard.errors import InvalidInput, NotFound
from shipyard.spec.environment import (
    BuildState,
    EnvironmentBuild,
    EnvironmentInfo,
    EnvironmentPhase,
)

BUILD_ID = re.compile(r"^[0-9a-f]{16}$")
INTERRUPTED = "interrupted: the server stopped before this build finished (it restarts on use)"


def check_build_id(value: str) -> str:
    """``value`` if it can be a build id.

    Raises:
        InvalidInput: It is not 16 lowercase hex digits (ids are hashes, never paths).
    """
    if not BUILD_ID.match(value):
        raise InvalidInput(
            f"build id {value!r} is invalid: a build id is 16 lowercase hex digits "
            "(see GET /environments/builds)",
            details={"errors": [{"field": "build", "value": value[:64]}]},
        )
    return value


class BuildRecords:
    """``EnvironmentBuild`` records as JSON files in one folder."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def save(self, build: EnvironmentBuild) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{build.id}.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(build.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)

    def get(self, build_id: str) -> EnvironmentBuild | None:
        path = self._folder / f"{check_build_id(build_id)}.json"
        try:
            return EnvironmentBuild.model_validate_json(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValidationError, ValueError):
            return None

    def all(self) -> list[EnvironmentBuild]:
        """Every readable record, newest first."""
        found = []
        for path in self._folder.glob("*.json") if self._folder.is_dir() else []:
            record = self.get(path.stem) if BUILD_ID.match(path.stem) else None
            if record is not None:
                found.append(record)
        return sorted(found, key=lambda b: b.started_at, reverse=True)


def interrupted(build: EnvironmentBuild) -> EnvironmentBuild:
    """A BUILDING record no live job owns: its process stopped while building."""
    return build.model_copy(update={"state": BuildState.FAILED, "step": INTERRUPTED})


@dataclass(frozen=True)
class BuildUse:
    """One deployment component whose status names a build."""

    project_id: str
    project: str
    deployment: str


def visible_builds(
    builds: Iterable[EnvironmentBuild],
    uses: Mapping[str, list[BuildUse]],
    *,
    project_id: str,
    admin: bool,
) -> list[EnvironmentBuild]:
    """The builds the caller may see, each with the deployments using it filled in.

    A project sees a build some of its deployments use, and only those deployments; an
    administrator sees every build, other projects' deployments named ``project/deployment``.
    """
    shown = []
    for build in builds:
        users = uses.get(build.id, [])
        if admin:
            names = sorted({_name(u, project_id) for u in users})
        else:
            names = sorted({u.deployment for u in users if u.project_id == project_id})
            if not names:
                continue
        shown.append(build.model_copy(update={"deployments": names}))
    return shown


def _name(use: BuildUse, project_id: str) -> str:
    return use.deployment if use.project_id == project_id else f"{use.project}/{use.deployment}"


def find_visible(
    build_id: str,
    builds: Iterable[EnvironmentBuild],
    uses: Mapping[str, list[BuildUse]],
    *,
    project_id: str,
    admin: bool,
) -> EnvironmentBuild:
    """One build the caller may see.

    Raises:
        InvalidInput: ``build_id`` cannot be an id.
        NotFound: No such build, or none of the caller's deployments uses it.
    """
    check_build_id(build_id)
    mine = [b for b in builds if b.id == build_id]
    shown = visible_builds(mine, uses, project_id=project_id, admin=admin)
    if not shown:
        raise NotFound(
            f"environment build {build_id!r} not found: none of this project's deployments "
            "uses it (GET /environments/builds lists the ones that do)"
        )
    return shown[0]


_STATES = {EnvironmentPhase.READY: BuildState.READY, EnvironmentPhase.FAILED: BuildState.FAILED}


def record_of(
    info: EnvironmentInfo,
    started: datetime,
    size_bytes: int | None,
    previous: EnvironmentBuild | None,
    *,
    now: datetime | None = None,
) -> EnvironmentBuild | None:
    """The record of a build whose environment is ``info`` now; None to keep ``previous``
    (a restart that only re-confirms an earlier READY build keeps its first record)."""
    state = _STATES.get(info.phase, BuildState.BUILDING)
    if (
        previous is not None
        and previous.state is BuildState.READY
        and state is not BuildState.FAILED
        and info.phase is not EnvironmentPhase.BUILDING
        and info.key in (None, previous.environment)
    ):
        return None
    now = now or datetime.now(UTC)
    done = state is not BuildState.BUILDING
    lock = "\n".join(info.packages)
    return EnvironmentBuild(
        id=info.build or "",
        base=info.base or "",
        requirements=info.requirements,
        python=info.python,
        state=state,
        step=info.message,
        environment=info.key,
        lock_hash=hashlib.sha256(lock.encode()).hexdigest() if info.key else None,
        packages=info.packages,
        reused=info.reused,
        image=info.image,
        started_at=started,
        finished_at=now if done else None,
        duration_s=round((now - started).total_seconds(), 2) if done else None,
        size_bytes=size_bytes,
    )


def info_of(record: EnvironmentBuild) -> EnvironmentInfo:
    """What a recorded build says of its environment, for the status of a deployment that is
    not running (a BUILDING record no job owns was interrupted: it reads as FAILED)."""
    if record.state is BuildState.BUILDING:
        record = interrupted(record)
    ready = record.state is BuildState.READY
    return EnvironmentInfo(
        base=record.base or None,
        build=record.id,
        requirements=record.requirements,
        phase=EnvironmentPhase.READY if ready else EnvironmentPhase.FAILED,
        key=record.environment,
        message="" if ready else record.step,
        packages=record.packages,
        python=record.python,
        reused=record.reused,
        build_seconds=record.duration_s,
        image=record.image,
    )


def size_of(folder: Path) -> int:
    """Bytes of the files under ``folder`` (hardlinked ones counted in full)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total
