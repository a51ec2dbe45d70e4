"""API-key handling on the gateway's hot path: parse the header, hash the key (cached).

The routing table (:mod:`shipyard.gateway.table`) maps the sha256 hex digest of each API key to
its project, so the gateway never sees a database. Hashing is cached for recently seen keys, so
an authenticated request costs two dict lookups.
"""

from __future__ import annotations

import hashlib

_SCHEMES = frozenset({"apikey", "bearer"})

UNAUTHORIZED_MESSAGE = "missing or invalid API key: send 'Authorization: ApiKey <key>'"


def parse_api_key(header: str | None) -> str | None:
    """The key in an ``Authorization`` header value.

    Args:
        header: ``ApiKey <key>`` or ``Bearer <key>`` (scheme case-insensitive), or None.

    Returns:
        The key, or None when the header is missing, of another scheme, or has no key.
    """
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() not in _SCHEMES:
        return None
    return key.strip() or None


class KeyHasher:
    """sha256 hex digest of API keys, remembering the most recently hashed ones."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._max_entries = max_entries
        self._digests: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        digest = self._digests.get(key)
        if digest is None:
            digest = hashlib.sha256(key.encode()).hexdigest()
            if len(self._digests) >= self._max_entries:
                del self._digests[next(iter(self._digests))]  # oldest first
            self._digests[key] = digest
        return digest
