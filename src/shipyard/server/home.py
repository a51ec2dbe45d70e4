"""The data directory of ``shipyard server``: its folders and its owner-only files.

Part of the composition root (:mod:`shipyard.server`): the folders' modes, the default
project's API key written once, and the internal token the control plane shares with its
gateway (kept in the run directory so a restarted server speaks with the gateway it adopts).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from shipyard.settings import ServerSettings
from shipyard.store import Store


def prepare_home(settings: ServerSettings) -> None:
    """Make the home's folders; with per-project replica identities (a root server) the home
    may be entered (0711) to reach artifacts and venvs, but its logs and run folders, database
    and keys stay the server's alone (``shipyard.backends.identity``)."""
    for folder in (settings.home, settings.artifacts_dir, settings.logs_dir, settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o711 if os.geteuid() == 0 else 0o700)
    os.chmod(settings.artifacts_dir, 0o711)
    for private in (settings.logs_dir, settings.run_dir):
        os.chmod(private, 0o700)
    for name in ("shipyard.db", "shipyard.db-wal", "shipyard.db-shm", "shipyard.db-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(settings.home / name, 0o600)


def bootstrap_key(store: Store, key_file: Path) -> str | None:
    """Create the default project and its key on first start; write the key owner-only."""
    _, key = store.ensure_default_project()
    if key is None:
        return None
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(key_file, 0o600)
    return key


def internal_token(settings: ServerSettings) -> str:
    """The secret the control plane and its gateway share, kept owner-only in the run directory,
    so a restarted server still speaks with the gateway it adopts."""
    path = settings.run_dir / "internal-token"
    with contextlib.suppress(OSError):
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token
