"""Replica admission for containers: each DOCKER replica admits only its project's token.

The token (:mod:`shipyard.wire.replica_token`, the same one LOCAL replicas and the gateway use)
reaches the container as a file bind-mounted read-only at :data:`TOKEN_PATH`, and the runtime is
started with ``--token-file`` pointing there. Not an environment variable nor a label: both are
shown to anyone who may ``docker inspect`` the container, while a mounted file shows only its
host path. The host file lives in a folder only the server's user may enter (``run/``, 0700),
one per replica; it is owned by the container's user (uid 10001) and 0400 when the server runs
as root, else 0644 (the folder above keeps other host users out). The runtime reads it at start
(it cannot delete a read-only mount), so the backend deletes the host file once the replica is
ready, and at the latest when its container is removed. The backend's own readiness probe
presents the token like the gateway and the control plane's ``/metrics`` scrape do.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from shipyard.backends.adopted_tokens import current_digest
from shipyard.wire.replica_token import HEADER, ReplicaTokens, write_token_file

TOKEN_PATH = "/run/secrets/shipyard-replica-token"
"""Where the container sees its token file (read-only)."""
CONTAINER_UID = 10001


class ContainerTokens:
    """Token files of one server's containers, and the header its probes present.

    Args:
        secret: the server secret each project's token derives from (None: no admission,
            as for a standalone test backend).
        folder: where the host-side token files are written (made 0700).
    """

    def __init__(self, secret: str | None, folder: Path) -> None:
        self._tokens = None if secret is None else ReplicaTokens(secret)
        self._folder = folder

    @property
    def enabled(self) -> bool:
        return self._tokens is not None

    def header(self, project_id: str | None) -> dict[str, str]:
        """The admission header of ``project_id``'s replicas (none without a secret)."""
        if self._tokens is None or not project_id:
            return {}
        return {HEADER.decode(): self._tokens(project_id).decode()}

    def digest(self, project_id: str | None) -> str | None:
        """The digest of ``project_id``'s token now (None: disabled, or no project)."""
        return current_digest(self._tokens, project_id)

    def write(self, replica_id: str, project_id: str) -> Path | None:
        """The host file holding ``project_id``'s token for one container (None: disabled)."""
        if self._tokens is None:
            return None
        self._folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self._folder, 0o700)
        path = self.path(replica_id)
        write_token_file(path, self._tokens(project_id))
        if os.geteuid() == 0:
            os.chown(path, CONTAINER_UID, CONTAINER_UID)
            os.chmod(path, 0o400)
        else:  # the container's uid is not ours: readable through the bind mount only
            os.chmod(path, 0o644)
        return path

    def path(self, replica_id: str) -> Path:
        return self._folder / f"{replica_id}.token"

    def remove(self, replica_id: str) -> None:
        """Delete a replica's host file (once read, or when its container goes)."""
        with contextlib.suppress(OSError):
            self.path(replica_id).unlink()
