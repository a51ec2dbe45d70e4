"""Base environments: the catalogue (everyone reads it, administrators add to it) and builds.

A project sees the builds its deployments' environments came from, each with its log (what
``uv`` printed resolving and installing); an administrator sees every build of the server.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from shipyard.api.deps import AdminDep, Caller, CallerDep, ServicesDep
from shipyard.api.services import Services
from shipyard.environments.builds import BuildUse, find_visible, visible_builds
from shipyard.spec.environment import BaseEnvironment, BuildLog, EnvironmentBuild

LOG_MAX_BYTES = 1024 * 1024  # of a build's log one answer carries at most

router = APIRouter(tags=["environments"])


@router.get("/environments")
def list_environments(_: CallerDep, svc: ServicesDep) -> list[BaseEnvironment]:
    """Every base environment, with its pinned packages."""
    return svc.environments.catalogue.entries()


@router.get("/environments/builds")
def list_builds(who: CallerDep, svc: ServicesDep) -> list[EnvironmentBuild]:
    """Environment builds the project's deployments use (an administrator: every build),
    newest first: state, step, times, locked packages, size and the deployments using each."""
    return visible_builds(
        svc.environments.builds(), _uses(svc, who), project_id=who.project.id, admin=who.is_admin
    )


@router.get("/environments/builds/{build}")
def get_build(build: str, who: CallerDep, svc: ServicesDep) -> EnvironmentBuild:
    """One build (400 for an id that is not 16 hex digits, 404 when it is not the project's)."""
    return _visible(build, who, svc)


@router.get("/environments/builds/{build}/log")
def get_build_log(
    build: str,
    who: CallerDep,
    svc: ServicesDep,
    tail: int = Query(200, ge=1, le=10000, description="last lines to return"),
) -> BuildLog:
    """The end of a build's log: the resolver's and installer's output (a failed build ends
    with the resolver's own reason). At most 1 MiB; ``truncated`` says earlier lines exist."""
    found = _visible(build, who, svc)
    end = svc.environments.build_log(build, lines=tail, max_bytes=LOG_MAX_BYTES)
    return BuildLog(
        build=build,
        state=found.state,
        lines=end.lines,
        truncated=end.truncated,
        size_bytes=end.size_bytes,
    )


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


def _visible(build: str, who: Caller, svc: Services) -> EnvironmentBuild:
    return find_visible(
        build,
        svc.environments.builds(),
        _uses(svc, who),
        project_id=who.project.id,
        admin=who.is_admin,
    )


def _uses(svc: Services, who: Caller) -> dict[str, list[BuildUse]]:
    """Build id -> the deployments (of the caller's project; of all for an admin) using it."""
    records = svc.store.list_deployments(None if who.is_admin else who.project.id)
    statuses = svc.store.get_statuses([r.id for r in records])
    names = {p.id: p.name for p in svc.store.list_projects()} if who.is_admin else {}
    uses: dict[str, list[BuildUse]] = {}
    for record in records:
        status = statuses.get(record.id)
        for info in status.environments.values() if status else ():
            if info.build:
                project = names.get(record.project_id, who.project.name)
                use = BuildUse(record.project_id, project, record.name)
                uses.setdefault(info.build, []).append(use)
    return uses
