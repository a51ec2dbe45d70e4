"""Request-scoped dependencies: who is calling (from the API key) and the app's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shipyard.api.services import Services
from shipyard.errors import Forbidden, Unauthorized
from shipyard.store import ProjectRecord

KEY_HINT = "send the header 'Authorization: ApiKey <key>' (the key is in $SHIPYARD_HOME/api-key)"


@dataclass(frozen=True)
class Caller:
    project: ProjectRecord
    is_admin: bool


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
    key = api_key_from(request.headers.get("authorization"))
    if key is None:
        raise Unauthorized(f"missing API key: {KEY_HINT}")
    found = svc.store.authenticate(key)
    if found is None:
        raise Unauthorized(f"invalid API key: {KEY_HINT}")
    return Caller(project=found[0], is_admin=found[1])


def admin(who: Annotated[Caller, Depends(caller)]) -> Caller:
    if not who.is_admin:
        raise Forbidden("this needs an administrator key (the default project's first key)")
    return who


CallerDep = Annotated[Caller, Depends(caller)]
AdminDep = Annotated[Caller, Depends(admin)]
ServicesDep = Annotated[Services, Depends(services)]
