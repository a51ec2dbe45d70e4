"""Endpoints for Shipyard's own processes (the gateway), behind the internal token."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Query, Request

from shipyard.api.deps import ServicesDep
from shipyard.errors import Unauthorized

router = APIRouter(include_in_schema=False)


@router.get("/internal/routes")
async def routes(
    request: Request,
    svc: ServicesDep,
    after: int = Query(0, ge=0),
    wait: float = Query(0.0, ge=0.0, le=60.0),
) -> dict[str, Any]:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if not hmac.compare_digest(token.encode(), svc.internal_token.encode()):
        raise Unauthorized("internal endpoint: wrong or missing token")
    return await svc.controller.routes.wait(after, wait)
