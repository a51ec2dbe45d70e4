"""Base environments: the catalogue (everyone reads it, administrators add to it) and builds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shipyard.api.deps import AdminDep, CallerDep, ServicesDep
from shipyard.spec.environment import BaseEnvironment

router = APIRouter(tags=["environments"])


@router.get("/environments")
def list_environments(_: CallerDep, svc: ServicesDep) -> list[BaseEnvironment]:
    """Every base environment, with its pinned packages."""
    return svc.environments.catalogue.entries()


@router.get("/environments/builds")
def list_builds(_: AdminDep, svc: ServicesDep) -> list[dict[str, Any]]:
    """Virtualenvs built on this server (key, base, Python, locked packages, container image)."""
    return svc.environments.builds()


@router.get("/environments/{ref:path}")
def get_environment(ref: str, _: CallerDep, svc: ServicesDep) -> BaseEnvironment:
    """One base environment by ``name:version``, ``name`` (newest) or alias."""
    return svc.environments.catalogue.get(ref, field="ref")


@router.post("/environments", status_code=201)
def add_environment(body: BaseEnvironment, _: AdminDep, svc: ServicesDep) -> BaseEnvironment:
    """Add a base environment (administrator key). Versions are immutable: add a new one."""
    entry = body.model_copy(update={"builtin": False})
    svc.environments.add_base(entry)
    return entry
