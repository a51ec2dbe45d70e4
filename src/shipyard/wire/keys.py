"""API keys on the data path: reading the ``Authorization`` header and hashing the key.

The routing table (:mod:`shipyard.wire.routes`) maps the sha256 hex digest of each API key to its
project, so the gateway never sees a database or a key in clear. Hashing is cached for recently
seen keys, so an authenticated request costs two dict lookups. Standard library only.
"""

from __future__ import annotations

import hashlib

SCHEMES = frozenset({"apikey", "bearer"})
"""Accepted ``Authorization`` schemes (case-insensitive)."""

UNAUTHORIZED_MESSAGE = "missing or invalid API key: send 'Authorization: ApiKey <key>'"

MAX_KEY_LENGTH = 512
"""Longer values are no key of ours (and are not hashed)."""


def parse_api_key(header: bytes | str | None) -> str | None:
    """The key in an ``Authorization`` header value.

    Args:
        header: ``ApiKey <key>`` or ``Bearer <key>`` (scheme case-insensitive), or None.

    Returns:
        The key, or None when the header is missing, of another scheme, has no key or an
        implausibly long one.
    """
    if not header:
        return None
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    scheme, _, key = text.strip().partition(" ")
    if scheme.lower() not in SCHEMES:
        return None
    key = key.strip()
    return key if key and len(key) <= MAX_KEY_LENGTH else None


def hash_key(key: str) -> str:
    """The sha256 hex digest under which the routing table knows ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


class KeyHasher:
    """:func:`hash_key`, remembering the most recently hashed keys."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._max_entries = max_entries
        self._digests: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        digest = self._digests.get(key)
        if digest is None:
            digest = hash_key(key)
            if len(self._digests) >= self._max_entries:
                del self._digests[next(iter(self._digests))]  # oldest first
            self._digests[key] = digest
        return digest
