"""Deployments: create, update, roll back to an earlier revision (each validated by the one
:class:`~shipyard.controller.validation.SpecValidator`, dry runs too), start, stop, delete,
status, revision history and logs. Handlers only change desired state; the controller does the
rest."""

from __future__ import annotations

from datetime import UTC, datetime

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
from shipyard.backends.cluster.preview import preview
from shipyard.controller.validation import Verdict
from shipyard.errors import AlreadyExists, Conflict, InvalidSpec, NotFound
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.status import Condition, ConditionStatus, ConditionType, DeploymentStatus
from shipyard.spec.validation import FieldError, raise_for
from shipyard.store import DeploymentRecord

router = APIRouter(tags=["deployments"])


def _out(svc: Services, record: DeploymentRecord) -> DeploymentOut:
    return DeploymentOut.of(record, svc.store.get_status(record.id), svc.gateway_url)


def _check(
    svc: Services,
    project_id: str,
    spec: DeploymentSpec,
    *,
    dry_run: bool,
    deployment_id: str | None = None,
) -> Verdict:
    """Every problem of ``spec`` at once (``InvalidSpec``), else whether it waits for capacity."""
    verdict = svc.validator.check(project_id, spec, dry_run=dry_run, deployment_id=deployment_id)
    if not dry_run:  # what a cluster tool refuses in its configured mode (dry runs render later)
        preview(svc.settings, project_id, spec, dry_run=False)
    return verdict


def _waiting(status: DeploymentStatus, verdict: Verdict) -> DeploymentStatus:
    """``status`` saying at once why the replicas will wait for capacity (if they will)."""
    if not verdict.waits:
        return status
    reason = "; ".join(verdict.waits)
    scheduled = Condition(
        type=ConditionType.SCHEDULED,
        status=ConditionStatus.FALSE,
        reason="Unschedulable",
        message=reason,
    )
    conditions = [scheduled, *(c for c in status.conditions if c.type != ConditionType.SCHEDULED)]
    message = f"{status.message}; {reason}" if status.message else reason
    return status.model_copy(update={"message": message, "conditions": conditions})


def _dry_run(
    svc: Services,
    record: DeploymentRecord,
    message: str,
    verdict: Verdict,
    project: str = "",
) -> DeploymentOut:
    status = _waiting(DeploymentStatus(message=f"dry run: {message}; nothing was stored"), verdict)
    out = DeploymentOut.of(record, status, svc.gateway_url, dry_run=True)
    objects = preview(svc.settings, project, record.spec, deployment_id=record.id)
    resolution = out.resolution.model_copy(update={"objects": objects})
    return out.model_copy(update={"resolution": resolution})


def _out_after(svc: Services, record: DeploymentRecord, verdict: Verdict) -> DeploymentOut:
    """A stored deployment, its status telling at once when its replicas must wait."""
    status = svc.store.get_status(record.id) or DeploymentStatus()
    return DeploymentOut.of(record, _waiting(status, verdict), svc.gateway_url)


@router.post("/deployments", status_code=201)
def create_deployment(
    body: DeploymentCreate, who: CallerDep, svc: ServicesDep, response: Response
) -> DeploymentOut:
    spec = body.spec
    verdict = _check(svc, who.project.id, spec, dry_run=body.dry_run)
    if body.dry_run:
        response.status_code = 200
        now = datetime.now(UTC)
        record = DeploymentRecord(
            id="", project_id=who.project.id, name=spec.name, spec=spec, revision=0,
            active=body.start, deleting=False, created_at=now, updated_at=now,
        )  # fmt: skip
        return _dry_run(svc, record, "the spec is valid", verdict, who.project.name)
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
    return _out_after(svc, record, verdict)


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
    verdict = _check(svc, who.project.id, spec, dry_run=dry_run, deployment_id=record.id)
    if dry_run:
        revision = record.revision + (spec != record.spec)
        proposed = record.model_copy(update={"spec": spec, "revision": revision})
        return _dry_run(svc, proposed, "the new spec is valid", verdict, who.project.name)
    if spec == record.spec:
        return _out(svc, record)
    updated = svc.store.update_spec(record.id, spec, author=who.project.name, reason=reason)
    svc.controller.notify()
    return _out_after(svc, updated, verdict)


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
        raise NotFound(
            f"deployment {name!r} not found (it is being deleted)", details={"deleting": True}
        )
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
