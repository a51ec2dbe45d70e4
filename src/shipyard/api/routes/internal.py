"""Endpoints for Shipyard's own processes (the gateway), behind the internal token."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from shipyard.api.deps import ServicesDep
from shipyard.api.services import Services
from shipyard.errors import NotFound, Unauthorized

router = APIRouter(include_in_schema=False)


def _gateway(request: Request, svc: ServicesDep) -> Services:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if not hmac.compare_digest(token.encode(), svc.internal_token.encode()):
        raise Unauthorized("internal endpoint: wrong or missing token")
    return svc


GatewayDep = Annotated[Services, Depends(_gateway)]


class TrafficReport(BaseModel):
    deployments: list[dict[str, Any]]
    gateway: str = Field("0", max_length=64)
    """Which gateway process sends it: each keeps its own cumulative counters."""


class WakeRequest(BaseModel):
    project_id: str
    name: str


@router.get("/internal/routes")
async def routes(
    svc: GatewayDep,
    after: int = Query(0, ge=0),
    wait: float = Query(0.0, ge=0.0, le=60.0),
    gateway: str = Query("0", max_length=64),
) -> dict[str, Any]:
    """The routing table, as soon as its version differs from ``after`` (long poll)."""
    return await svc.controller.routes.wait(after, wait, gateway)


@router.post("/internal/traffic", status_code=204)
async def traffic(body: TrafficReport, svc: GatewayDep) -> None:
    """Cumulative traffic counters per deployment, for the autoscaler."""
    svc.controller.record_traffic(body.deployments, gateway=body.gateway)


@router.post("/internal/wake", status_code=202)
async def wake(body: WakeRequest, svc: GatewayDep) -> dict[str, str]:
    """A request waits for a deployment at zero instances: start a replica now."""
    if not svc.controller.wake(body.project_id, body.name):
        raise NotFound(f"deployment {body.name!r} not found")
    return {"status": "waking"}


class LoggerHealth(BaseModel):
    project_id: str
    name: str
    problem: str | None = Field(default=None, max_length=500)


@router.post("/internal/logger-health", status_code=204)
async def logger_health(body: LoggerHealth, svc: GatewayDep) -> None:
    """A gateway's inference-log sink of a deployment failed (``problem``) or works again."""
    if not svc.controller.logger_health(body.project_id, body.name, body.problem):
        raise NotFound(f"deployment {body.name!r} not found")


class ActiveRequest(BaseModel):
    project_id: str
    name: str
    active: bool


@router.post("/internal/active")
def set_active(body: ActiveRequest, svc: GatewayDep) -> dict[str, Any]:
    """The V2 repository extension's load (``active``) or unload: start or stop a deployment."""
    record = svc.store.get_deployment(body.project_id, body.name)
    if record.deleting:
        raise NotFound(f"deployment {body.name!r} not found (it is being deleted)")
    svc.store.set_active(record.id, body.active)
    svc.controller.notify()
    return {"name": body.name, "active": body.active}
