"""Who a LOCAL replica runs as: one unprivileged uid per project, when the server is root.

A model's code is arbitrary code. Run as the server's user it could read the server's files
(keys, database, every project's artifacts) and signal its processes. So when the server runs
as root, each replica drops to its project's own uid and gid before it execs (the launcher does
``setgroups([])``, ``setgid``, ``setuid``: :mod:`shipyard.backends.launcher`):

- the ids come from the project id: ``BASE + sha256(project id) mod SPAN`` (no ``/etc/passwd``
  entry is needed: the kernel only knows numbers; ``SPAN`` is large enough that two projects
  sharing an id is a 1-in-millions event per pair);
- ``$SHIPYARD_HOME`` is 0711 (enter, not list) and everything in it private to the server
  (``run/``, ``logs/``, the database, keys), except: the project's artifact folder, given to the
  project's gid (0750, files group-readable); and ``replicas/p<uid>/`` (0700, the project's
  own), where its replicas' token, address file and Unix socket live and which is their ``HOME``.
  Venvs and the runtime overlay stay world-readable (no secrets in them).

Without root, or when an unprivileged user cannot reach the server's Python or home (e.g. a
Python under ``/root``), :meth:`Identities.detect` gives None and replicas run as the server's
user: the server's ``/healthz`` says so and why (``replica_isolation``), as does the README.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

BASE = 1_000_000_000
"""First uid/gid of the project range (above ordinary users and common subuid ranges)."""
SPAN = 1 << 28
"""Size of the project range."""
_GROUP_READ = stat.S_IRGRP | stat.S_IXGRP
ISOLATED = "per-project uid: each LOCAL replica runs as its project's own unprivileged user"
NOT_ROOT = (
    "none: the server is not root, so LOCAL replicas run as its user and can read its files "
    "(run it as root, or use DOCKER, to keep projects apart)"
)
UNREACHABLE = (
    "none: the server is root, but an unprivileged user cannot reach {path} ({blocked} is "
    "closed to others), so LOCAL replicas run as root; install Python and SHIPYARD_HOME "
    "outside such folders (e.g. not under /root) to run each project as its own user"
)


def closed_folder(path: Path) -> Path | None:
    """The first folder on ``path`` (resolved, ``/`` first) others may not enter, or None."""
    resolved = path.resolve()
    for folder in [*reversed(resolved.parents), resolved]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return folder
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return folder
    return None


@dataclass(frozen=True, slots=True)
class Identity:
    """The uid/gid a project's replicas run as, and their private folder."""

    uid: int
    gid: int
    home: Path


def project_uid(project_id: str) -> int:
    """The uid (and gid) of ``project_id``'s replicas."""
    digest = hashlib.sha256(project_id.encode()).digest()
    return BASE + int.from_bytes(digest[:8], "big") % SPAN


class Identities:
    """Gives each project its identity and the files its replicas need (see module doc)."""

    def __init__(self, replicas_root: Path, artifacts_root: Path) -> None:
        self._root = replicas_root
        self._artifacts = artifacts_root.resolve()

    @classmethod
    def detect(cls, replicas_root: Path, artifacts_root: Path) -> tuple[Identities | None, str]:
        """Identities when this process may change uids (root) and an unprivileged user can run
        its Python, else None; with a sentence saying how replicas are isolated, or why not."""
        if os.geteuid() != 0:
            return None, NOT_ROOT
        for needed in (Path(sys.executable), Path(os.__file__).parent, replicas_root.parent):
            blocked = closed_folder(needed)
            if blocked is not None:
                return None, UNREACHABLE.format(path=needed, blocked=blocked)
        return cls(replicas_root, artifacts_root), ISOLATED

    def prepare(self, project_id: str, model_dir: Path) -> Identity:
        """The project's identity, with its private folder made and ``model_dir`` readable by
        its gid (and by no other project's)."""
        uid = project_uid(project_id)
        self._root.mkdir(mode=0o711, parents=True, exist_ok=True)
        self._root.chmod(0o711)
        home = self._root / f"p{uid}"
        home.mkdir(mode=0o700, exist_ok=True)
        os.chown(home, uid, uid)
        home.chmod(0o700)
        self._grant(model_dir.resolve(), uid)
        return Identity(uid=uid, gid=uid, home=home)

    def _grant(self, model_dir: Path, gid: int) -> None:
        """Give ``gid`` read access to ``model_dir`` and traversal of the folders above it up to
        the artifacts root (project and model folders: 0750, no one else)."""
        if not model_dir.is_relative_to(self._artifacts) or model_dir == self._artifacts:
            raise PermissionError(f"model files outside the artifacts folder: {model_dir}")
        for folder in model_dir.relative_to(self._artifacts).parents:
            if folder != Path("."):
                _share(self._artifacts / folder, gid, 0o750)
        for top, dirs, files in os.walk(model_dir):
            for name in [*dirs, *files]:
                path = Path(top) / name
                if not path.is_symlink():
                    _share(path, gid, None)
        _share(model_dir, gid, None)


def _share(path: Path, gid: int, mode: int | None) -> None:
    """``path`` owned by group ``gid``: ``mode``, else its own bits plus group read (and
    traversal for folders), without any for others."""
    info = path.lstat()
    if info.st_gid != gid:
        os.chown(path, info.st_uid, gid, follow_symlinks=False)
    if mode is None:
        bits = stat.S_IMODE(info.st_mode)
        extra = _GROUP_READ if stat.S_ISDIR(info.st_mode) else stat.S_IRGRP
        if bits & stat.S_IXUSR:
            extra |= stat.S_IXGRP
        mode = (bits | extra) & ~stat.S_IRWXO
    if stat.S_IMODE(info.st_mode) != mode:
        path.chmod(mode)
