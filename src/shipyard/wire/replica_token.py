"""Replica admission: only the gateway (and the backend that runs a replica) may call it.

A replica's ports and Unix socket are reachable by any process on the machine, including other
projects' models. So each request to a replica carries :data:`HEADER`, a token that proves it
comes from the control plane: ``HMAC-SHA256(server secret, "replica:" + project id)``. Every
replica of one project holds the same token (a model's code can read its own process's memory,
so it may learn its project's token, and that only opens its own project's replicas); no replica
can derive another project's token without the server secret, which stays in the server and
gateway processes (``run/internal-token``, mode 0600).

The token reaches a replica through a file (:func:`write_token_file`, 0600, read and deleted by
the runtime at start: :func:`read_token_file`), never its command line or environment, where
``/proc`` would show it to anyone. The runtime then refuses a request whose head lacks the token
before reading a byte of its body (:func:`admits`). Standard library only (runtime and gateway).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path

HEADER = b"x-shipyard-replica-token"
"""The request header carrying the token (lowercase, as the parsers give names)."""
MAX_TOKEN_FILE = 256
"""Largest token file the runtime reads (a token is 64 hex characters)."""


def project_token(secret: str | bytes, project_id: str) -> bytes:
    """The admission token of ``project_id``'s replicas (64 lowercase hex characters)."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"replica:{project_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest().encode("ascii")


class ReplicaTokens:
    """Each project's token from the server secret, computed once per project."""

    def __init__(self, secret: str | bytes) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._tokens: dict[str, bytes] = {}

    def __call__(self, project_id: str) -> bytes:
        token = self._tokens.get(project_id)
        if token is None:
            if len(self._tokens) > 10_000:  # projects come and go: never grow without bound
                self._tokens.clear()
            token = self._tokens[project_id] = project_token(self._secret, project_id)
        return token

    def digest(self, project_id: str) -> str:
        """:func:`token_digest` of ``project_id``'s token."""
        return token_digest(self(project_id))


def token_digest(token: bytes) -> str:
    """16 hex digits of the token's SHA-256: enough to tell whether a replica (or a pod
    template) holds the current token, nothing that helps to guess it (an HMAC)."""
    return hashlib.sha256(token).hexdigest()[:16]


def admits(expected: bytes, headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether ``headers`` carry exactly one :data:`HEADER` equal to ``expected``
    (compared in constant time)."""
    given = [value for name, value in headers if name.lower() == HEADER]
    return len(given) == 1 and hmac.compare_digest(given[0], expected)


def write_token_file(path: Path, token: bytes) -> None:
    """Write ``token`` to a new file only its owner can read (replaced if there)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, token)
    finally:
        os.close(fd)


def read_token_file(path: Path) -> bytes:
    """The token in ``path``, which is then deleted (best effort: a file the replica may not
    delete is left to the backend).

    Raises:
        OSError: it cannot be read.
        ValueError: it is empty or too large.
    """
    with path.open("rb") as handle:
        token = handle.read(MAX_TOKEN_FILE + 1).strip()
    if not token or len(token) > MAX_TOKEN_FILE:
        raise ValueError(f"the replica token file {path} is empty or too large")
    with contextlib.suppress(OSError):
        path.unlink()
    return token
