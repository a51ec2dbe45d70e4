"""Replicas adopted with another admission token than the server's own now.

A LOCAL or DOCKER replica reads its project's replica token once, at start
(:mod:`shipyard.wire.replica_token`). Should the server's secret change between two lives of the
server (``run/internal-token`` deleted), the replicas it adopts still hold the old token: they
refuse the new gateway, and their readiness check, which presents the new one, fails. So each
replica's handle keeps a digest of the token it was given (:data:`DIGEST_KEY` in
``ReplicaRef.extra``); an adopted replica whose digest is not its project's current one, or that
has none (started before replicas had tokens), is given an outdated template, and the controller
replaces it as in a rolling update: a new replica in its slot, then the old one stopped.
"""

from __future__ import annotations

import dataclasses

from shipyard.backends.protocol import ReplicaRef
from shipyard.wire.replica_token import ReplicaTokens

DIGEST_KEY = "token-sha256"
"""``ReplicaRef.extra`` key: the digest of the token the replica was started with."""
OUTDATED = "outdated-token:"
"""Prefix of the template given to a replica holding another token (never a real template)."""


def current_digest(tokens: ReplicaTokens | None, project_id: str | None) -> str | None:
    """The digest of ``project_id``'s token now (None: admission off, or no project)."""
    return None if tokens is None or not project_id else tokens.digest(project_id)


def digest_extra(digest: str | None) -> dict[str, str]:
    """The entry a started replica's handle keeps (none when admission is off)."""
    return {} if digest is None else {DIGEST_KEY: digest}


def outdated_if_token_changed(ref: ReplicaRef, current: str | None) -> ReplicaRef:
    """``ref`` as adopted: with an outdated template when it holds another token than
    ``current`` (the digest of its project's token now; None: admission is off)."""
    if current is None or ref.extra.get(DIGEST_KEY) == current:
        return ref
    if ref.template.startswith(OUTDATED):
        return ref
    return dataclasses.replace(ref, template=OUTDATED + ref.template)
