"""Projects: the caller's own; listing, creating and deleting them (administrators)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shipyard.api.deps import AdminDep, CallerDep, ServicesDep
from shipyard.api.schemas import ProjectCreate, ProjectCreated, ProjectOut
from shipyard.spec.quota import Quota

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


@router.get("/projects")
def list_projects(_: AdminDep, svc: ServicesDep) -> list[ProjectOut]:
    return [ProjectOut.of(p) for p in svc.store.list_projects()]


@router.delete("/projects/{name}", status_code=204)
def delete_project(name: str, _: AdminDep, svc: ServicesDep) -> Response:
    """Delete a project without deployments: its keys stop working, its models and their files
    are removed."""
    project = svc.store.delete_project(name)
    svc.storage.discard_project(project.id)
    svc.controller.notify()  # its keys leave the gateway's table
    return Response(status_code=204)


@router.put("/projects/{name}/quota")
def set_quota(name: str, quota: Quota, _: AdminDep, svc: ServicesDep) -> ProjectOut:
    """Set the most cores, memory (MiB), GPUs and instances the project's deployments may
    reserve together (requests x most instances; null: no limit). Existing deployments keep
    running; new specs and updates over it are refused naming the quota."""
    return ProjectOut.of(svc.store.set_quota(name, quota))
