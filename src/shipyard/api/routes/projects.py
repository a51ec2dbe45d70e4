"""Projects: the caller's own, and creating new ones (administrators)."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.deps import AdminDep, CallerDep, ServicesDep
from shipyard.api.schemas import ProjectCreate, ProjectCreated, ProjectOut

router = APIRouter(tags=["projects"])


@router.get("/project")
def current_project(who: CallerDep) -> ProjectOut:
    return ProjectOut.of(who.project)


@router.post("/projects", status_code=201)
def create_project(body: ProjectCreate, _: AdminDep, svc: ServicesDep) -> ProjectCreated:
    project = svc.store.create_project(body.name)
    key = svc.store.create_api_key(project.id)
    svc.controller.notify()  # the gateway learns the new key with the next routing table
    return ProjectCreated(project=ProjectOut.of(project), api_key=key)
