"""Deployments: create (validated against the registry and the serving tool), update, roll
back to an earlier revision, start, stop, delete, status, revision history and logs. Handlers only
change desired state; the controller does the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Query, Response

from shipyard.api.deps import Caller, CallerDep, ServicesDep
from shipyard.api.schemas import (
    DeploymentCreate,
    DeploymentOut,
    DeploymentRollback,
    DeploymentUpdate,
    LogLineOut,
    LogsOut,
    RevisionOut,
)
from shipyard.api.services import Services
from shipyard.controller.environments import base_of, environment_request
from shipyard.controller.scheduling import never_fits
from shipyard.errors import AlreadyExists, Conflict, InvalidSpec, NotFound
from shipyard.spec.capacity import Demand
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.resources import ComponentResources
from shipyard.spec.status import DeploymentStatus
from shipyard.spec.tools import resolve
from shipyard.spec.validation import FieldError, backend_errors, raise_for, spec_errors
from shipyard.store import DeploymentRecord

router = APIRouter(tags=["deployments"])


def _out(svc: Services, record: DeploymentRecord) -> DeploymentOut:
    return DeploymentOut.of(record, svc.store.get_status(record.id), svc.gateway_url)


def _capacity_errors(svc: Services, spec: DeploymentSpec) -> list[FieldError]:
    """Requests that could never be scheduled on this node, even with nothing else running."""
    capacity = svc.controller.capacity(spec.serving_tool)
    if capacity is None:
        return []
    components: list[tuple[str, ComponentResources]] = [("predictor", spec.predictor.resources)]
    if spec.transformer is not None:
        components.append(("transformer", spec.transformer.resources))
    errors = []
    for name, resources in components:
        reason = never_fits(capacity, Demand.of(resources.requests))
        if reason is not None:
            fix = (
                "lower the request, or give the node more with SHIPYARD_NODE_CORES, "
                "SHIPYARD_NODE_MEMORY_MB or SHIPYARD_GPUS"
            )
            value = resources.requests.model_dump()
            errors.append(FieldError(f"{name}.resources.requests", value, f"{reason}: {fix}"))
    return errors


def _check(svc: Services, project_id: str, spec: DeploymentSpec, *, dry_run: bool) -> None:
    """Every problem of ``spec`` at once: values, what its serving tool cannot honour, and (not
    on a dry run) whether this server has a backend for the tool; then the registry."""
    problems = spec_errors(spec) + resolve(spec).errors + _capacity_errors(svc, spec)
    if not dry_run:
        problems += backend_errors(spec, svc.controller.tools)
    raise_for(problems)
    _check_against_registry(svc, project_id, spec)


def _dry_run(svc: Services, record: DeploymentRecord, message: str) -> DeploymentOut:
    status = DeploymentStatus(message=f"dry run: {message}; nothing was stored")
    return DeploymentOut.of(record, status, svc.gateway_url, dry_run=True)


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
    problems += _environment_errors(svc, spec, Path(model.storage_path))
    raise_for(problems)


def _environment_errors(svc: Services, spec: DeploymentSpec, model_dir: Path) -> list[FieldError]:
    """Unknown base environments and malformed requirements (resolution runs in the controller,
    right after the deployment is stored)."""
    errors = []
    for component in spec.components():
        try:
            environment_request(svc.environments.catalogue, spec, component, model_dir)
        except InvalidSpec as exc:
            item = (exc.details.get("errors") or [{}])[0]
            field = str(item.get("field", f"{component.value}.environment"))
            errors.append(
                FieldError(field, item.get("value", base_of(spec, component)), exc.message)
            )
    return errors


@router.post("/deployments", status_code=201)
def create_deployment(
    body: DeploymentCreate, who: CallerDep, svc: ServicesDep, response: Response
) -> DeploymentOut:
    spec = body.spec
    _check(svc, who.project.id, spec, dry_run=body.dry_run)
    if body.dry_run:
        response.status_code = 200
        now = datetime.now(UTC)
        record = DeploymentRecord(
            id="", project_id=who.project.id, name=spec.name, spec=spec, revision=0,
            active=body.start, deleting=False, created_at=now, updated_at=now,
        )  # fmt: skip
        return _dry_run(svc, record, "the spec is valid")
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
    return _replace_spec(svc, who, record, spec, dry_run=body.dry_run)


def _replace_spec(
    svc: Services,
    who: Caller,
    record: DeploymentRecord,
    spec: DeploymentSpec,
    *,
    dry_run: bool,
    reason: str = "",
) -> DeploymentOut:
    """Validate ``spec`` as a create would, then store it as the next revision (whose change
    text is ``reason`` and the changed fields). An equal spec stores nothing."""
    _check(svc, who.project.id, spec, dry_run=dry_run)
    if dry_run:
        revision = record.revision + (spec != record.spec)
        proposed = record.model_copy(update={"spec": spec, "revision": revision})
        return _dry_run(svc, proposed, "the new spec is valid")
    if spec == record.spec:
        return _out(svc, record)
    updated = svc.store.update_spec(record.id, spec, author=who.project.name, reason=reason)
    svc.controller.notify()
    return _out(svc, updated)


@router.get("/deployments/{name}/revisions")
def list_revisions(name: str, who: CallerDep, svc: ServicesDep) -> list[RevisionOut]:
    """Every revision, oldest first: who made it, when, and what it changed."""
    record = _visible(svc, who.project.id, name)
    return [RevisionOut.of(r) for r in svc.store.list_revisions(record.id)]


@router.post("/deployments/{name}/rollback")
def rollback_deployment(
    name: str, body: DeploymentRollback, who: CallerDep, svc: ServicesDep
) -> DeploymentOut:
    """Store an earlier revision's spec again, as a new revision validated like a PUT.

    Unknown revision: 404 naming the known ones. The spec already in force: 409.
    """
    record = _visible(svc, who.project.id, name)
    revisions = svc.store.list_revisions(record.id)
    target = next((r for r in revisions if r.revision == body.revision), None)
    if target is None:
        first, last = revisions[0].revision, revisions[-1].revision
        raise NotFound(
            f"deployment {name!r} has no revision {body.revision}: "
            f"its revisions are {first} to {last}",
            details={"first_revision": first, "last_revision": last},
        )
    if target.spec == record.spec:
        raise Conflict(
            f"deployment {name!r} already has the spec of revision {body.revision} (it is at "
            f"revision {record.revision}): there is nothing to roll back",
            details={"revision": record.revision},
        )
    reason = f"rollback to revision {body.revision}"
    return _replace_spec(svc, who, record, target.spec, dry_run=body.dry_run, reason=reason)


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
    lines = svc.controller.logs(record.id, component, tail)
    return LogsOut(
        component=component, lines=[LogLineOut(replica=x.replica_id, line=x.line) for x in lines]
    )
