"""Request-scoped dependencies: who is calling (from the API key) and the app's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shipyard.api.services import Services
from shipyard.backends.cluster.tokens import is_model_token
from shipyard.errors import Forbidden, Unauthorized
from shipyard.store import ProjectRecord

KEY_HINT = "send the header 'Authorization: ApiKey <key>' (the key is in $SHIPYARD_HOME/api-key)"


@dataclass(frozen=True)
class Caller:
    project: ProjectRecord
    is_admin: bool
    read_only: bool = False
    """A predict-and-read key: refused on changes."""
    key_id: str = ""


def api_key_from(header: str | None) -> str | None:
    """The key in an ``Authorization: ApiKey <key>`` (or ``Bearer <key>``) header."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("apikey", "bearer") or not value.strip():
        return None
    return value.strip()


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def caller(request: Request, svc: Annotated[Services, Depends(services)]) -> Caller:
    who = authenticate(svc, request.headers.get("authorization"))
    if who.read_only and not _reading(request.method, request.url.path):
        raise Forbidden(
            f"this key is read-only (predict and read): {request.method} {request.url.path} "
            "needs a full key of the project"
        )
    return who


def _reading(method: str, path: str) -> bool:
    """Whether a request only reads (or predicts), as a read-only key may."""
    return method in ("GET", "HEAD", "OPTIONS") or (method == "POST" and path.endswith("/predict"))


def authenticate(svc: Services, authorization: str | None, *, write: bool = False) -> Caller:
    """The caller an ``authorization`` header names.

    Args:
        svc: the services (the store holds the keys).
        authorization: the header's value.
        write: the request changes something (a read-only key is then refused).

    Raises:
        Unauthorized: no key, a model download token, or an unknown or revoked key.
        Forbidden: a read-only key for a change.
    """
    key = api_key_from(authorization)
    if key is None:
        raise Unauthorized(f"missing API key: {KEY_HINT}")
    if is_model_token(key):
        raise Unauthorized(
            f"a model download token opens its model version's archive only: {KEY_HINT}"
        )
    grant = svc.store.grant(key)
    if grant is None:
        raise Unauthorized(f"invalid API key (unknown or revoked): {KEY_HINT}")
    if write and grant.read_only:
        raise Forbidden("this key is read-only (predict and read): use a full key to change")
    return Caller(
        project=grant.project,
        is_admin=grant.is_admin,
        read_only=grant.read_only,
        key_id=grant.key_id,
    )


def artifact_project(request: Request, svc: Services, name: str, version: int | None) -> str:
    """The project whose model archive the caller may read: an API key's, or a model download
    token's when it was minted for exactly ``name`` version ``version`` (cluster pods)."""
    key = api_key_from(request.headers.get("authorization"))
    if key is not None and is_model_token(key):
        grant = svc.model_tokens.verify(key) if svc.model_tokens is not None else None
        if grant is None or (grant.model_name, grant.model_version) != (name, version):
            raise Unauthorized(
                "this model download token is invalid, expired, or for another model version"
            )
        return grant.project_id
    return caller(request, svc).project.id


def admin(who: Annotated[Caller, Depends(caller)]) -> Caller:
    if not who.is_admin:
        raise Forbidden("this needs an administrator key (the default project's first key)")
    return who


CallerDep = Annotated[Caller, Depends(caller)]
AdminDep = Annotated[Caller, Depends(admin)]
ServicesDep = Annotated[Services, Depends(services)]
