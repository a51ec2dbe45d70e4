"""Deployments: create (validated against the registry and the serving tool), start, stop,
delete, status and logs. Handlers only change desired state; the controller does the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Response

from shipyard.api.deps import CallerDep, ServicesDep
from shipyard.api.schemas import (
    DeploymentCreate,
    DeploymentOut,
    DeploymentUpdate,
    LogLineOut,
    LogsOut,
)
from shipyard.api.services import Services
from shipyard.errors import AlreadyExists, InvalidSpec, NotFound
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.status import DeploymentStatus
from shipyard.spec.validation import FieldError, raise_for, spec_errors
from shipyard.store import DeploymentRecord

router = APIRouter(tags=["deployments"])


def _out(svc: Services, record: DeploymentRecord) -> DeploymentOut:
    return DeploymentOut.of(record, svc.store.get_status(record.id), svc.gateway_url)


def _check_against_registry(svc: Services, project_id: str, spec: DeploymentSpec) -> None:
    p = spec.predictor
    try:
        model = svc.store.get_model_version(project_id, p.model_name, p.model_version)
    except NotFound as exc:
        err = FieldError("predictor.model_version", p.model_version, exc.message)
        raise_for([err])
        return
    problems: list[FieldError] = []
    scripts = [f for f in model.files if f.endswith(".py")]
    for field, script in (
        ("predictor.script_file", p.script_file),
        ("transformer.script_file", spec.transformer.script_file if spec.transformer else None),
    ):
        if script is not None and script not in model.files:
            hint = f"files ending in .py: {', '.join(scripts)}" if scripts else "it has no .py file"
            msg = (
                f"no file {script!r} in model {model.model_name} v{model.version} "
                f"(paths are relative to the model directory; {hint})"
            )
            problems.append(FieldError(field, script, msg))
    raise_for(problems)


@router.post("/deployments", status_code=201)
def create_deployment(
    body: DeploymentCreate, who: CallerDep, svc: ServicesDep, response: Response
) -> DeploymentOut:
    spec = body.spec
    raise_for(spec_errors(spec))
    _check_against_registry(svc, who.project.id, spec)
    if body.dry_run:
        response.status_code = 200
        now = datetime.now(UTC)
        record = DeploymentRecord(
            id="", project_id=who.project.id, name=spec.name, spec=spec, revision=0,
            active=body.start, deleting=False, created_at=now, updated_at=now,
        )  # fmt: skip
        status = DeploymentStatus(message="dry run: the spec is valid; nothing was stored")
        return DeploymentOut.of(record, status, svc.gateway_url, dry_run=True)
    try:
        existing = svc.store.get_deployment(who.project.id, spec.name)
    except NotFound:
        existing = None
    if existing is not None:
        what = "is being deleted; try again in a moment" if existing.deleting else "already exists"
        raise AlreadyExists(
            f"deployment {spec.name!r} {what}: pick another name, or update/delete it"
        )
    record = svc.store.create_deployment(
        who.project.id, spec, active=body.start, author=who.project.name
    )
    svc.controller.notify()
    return _out(svc, record)


@router.put("/deployments/{name}")
def update_deployment(
    name: str, body: DeploymentUpdate, who: CallerDep, svc: ServicesDep
) -> DeploymentOut:
    """Replace the spec with a new revision; replicas are replaced only where they must be."""
    record = _visible(svc, who.project.id, name)
    spec = body.spec
    if spec.name != name:
        raise_for(
            [FieldError("spec.name", spec.name, f"must be {name!r}: renaming is not supported")]
        )
    raise_for(spec_errors(spec))
    _check_against_registry(svc, who.project.id, spec)
    if spec == record.spec:
        return _out(svc, record)
    updated = svc.store.update_spec(record.id, spec, author=who.project.name, change="spec updated")
    svc.controller.notify()
    return _out(svc, updated)


@router.get("/deployments")
def list_deployments(who: CallerDep, svc: ServicesDep) -> list[DeploymentOut]:
    records = [r for r in svc.store.list_deployments(who.project.id) if not r.deleting]
    statuses = svc.store.get_statuses([r.id for r in records])
    return [DeploymentOut.of(r, statuses.get(r.id), svc.gateway_url) for r in records]


def _visible(svc: Services, project_id: str, name: str) -> DeploymentRecord:
    record = svc.store.get_deployment(project_id, name)
    if record.deleting:
        raise NotFound(f"deployment {name!r} not found (it is being deleted)")
    return record


@router.get("/deployments/{name}")
def get_deployment(name: str, who: CallerDep, svc: ServicesDep) -> DeploymentOut:
    return _out(svc, _visible(svc, who.project.id, name))


@router.post("/deployments/{name}/start")
def start_deployment(name: str, who: CallerDep, svc: ServicesDep) -> DeploymentOut:
    record = svc.store.set_active(_visible(svc, who.project.id, name).id, True)
    svc.controller.notify()
    return _out(svc, record)


@router.post("/deployments/{name}/stop")
def stop_deployment(name: str, who: CallerDep, svc: ServicesDep) -> DeploymentOut:
    record = svc.store.set_active(_visible(svc, who.project.id, name).id, False)
    svc.controller.notify()
    return _out(svc, record)


@router.delete("/deployments/{name}", status_code=204)
def delete_deployment(name: str, who: CallerDep, svc: ServicesDep) -> Response:
    svc.store.mark_deleting(_visible(svc, who.project.id, name).id)
    svc.controller.notify()
    return Response(status_code=204)


@router.get("/deployments/{name}/logs")
def deployment_logs(
    name: str,
    who: CallerDep,
    svc: ServicesDep,
    component: str = Query("predictor", description="predictor or transformer"),
    tail: int = Query(50, ge=0, le=10000, description="lines per replica"),
) -> LogsOut:
    record = _visible(svc, who.project.id, name)
    if component not in {c.value for c in Component}:
        raise InvalidSpec(f"component {component!r} is invalid: use predictor or transformer")
    lines = svc.backend.logs(record.id, component, tail)
    return LogsOut(
        component=component, lines=[LogLineOut(replica=x.replica_id, line=x.line) for x in lines]
    )
