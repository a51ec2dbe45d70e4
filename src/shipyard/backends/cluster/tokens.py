"""Short-lived, read-only tokens that let a pod download one model version's archive.

A cluster pod's init container fetches ``GET /api/v1/models/<name>/versions/<v>/artifact`` with
``Authorization: Bearer <token>``. The token names the project, the model and the version and
expires (default 24 hours); it is an HMAC-SHA256 over those fields with the server's own key
(``$SHIPYARD_HOME/model-token-key``, kept across restarts so pods rescheduled after one can
still start). It opens that one archive and nothing else: the API refuses it everywhere else.
The backends re-mint a deployment's token when half its lifetime has passed.

Format: ``sym1.<base64url JSON {"p","m","v","exp"}>.<base64url HMAC>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

PREFIX = "sym1"
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class ModelGrant:
    """What a valid token allows: reading one model version of one project."""

    project_id: str
    model_name: str
    model_version: int
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_model_token(value: str) -> bool:
    """Whether a credential has the shape of a model token (never a project API key)."""
    return value.startswith(PREFIX + ".")


class ModelTokenSigner:
    """Mints and checks model download tokens."""

    def __init__(
        self, key: bytes, *, ttl_s: float = 86400.0, clock: Callable[[], float] = time.time
    ) -> None:
        if len(key) < 32:
            raise ValueError("a model token key needs at least 32 bytes")
        self._key = key
        self.ttl_s = ttl_s
        self._clock = clock

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def mint(self, project_id: str, model_name: str, model_version: int) -> str:
        exp = round(self._clock() + self.ttl_s)
        body = {"p": project_id, "m": model_name, "v": model_version, "exp": exp}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{PREFIX}.{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> ModelGrant | None:
        """The grant of a valid, unexpired token; None for anything else."""
        if len(token) > MAX_TOKEN_LENGTH or not is_model_token(token):
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        _, payload, signature = parts
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            body = json.loads(_unb64(payload))
            grant = ModelGrant(
                project_id=str(body["p"]),
                model_name=str(body["m"]),
                model_version=int(body["v"]),
                expires_at=float(body["exp"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return grant if grant.expires_at > self._clock() else None
