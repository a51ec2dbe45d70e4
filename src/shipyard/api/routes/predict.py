"""A test prediction through the control plane: the web UI's "Test prediction" panel sends a
KServe V1 body here (same origin, same key), and it is passed to the gateway's V1 endpoint.

Not the data path: it adds a hop, bounds the body and the wait, and exists so that a browser
on the API's origin can try a deployment. The gateway checks the key and answers as usual; its
status and body are returned as they are.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from shipyard.api.deps import CallerDep, ServicesDep
from shipyard.errors import BackendUnavailable, NotFound, PayloadTooLarge

router = APIRouter(tags=["deployments"])

MAX_BODY_BYTES = 1024 * 1024
TIMEOUT_S = 60.0


@router.post("/deployments/{name}/predict")
async def test_prediction(
    name: str,
    request: Request,
    who: CallerDep,
    svc: ServicesDep,
    body: dict[str, Any] = Body(description='KServe V1: {"instances": [...]} or {"inputs": ...}'),
) -> JSONResponse:
    """Send ``body`` to the deployment's V1 endpoint on the gateway and return its answer."""
    record = svc.store.get_deployment(who.project.id, name)
    if record.deleting:
        raise NotFound(f"deployment {name!r} not found (it is being deleted)")
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"a test prediction body is at most {MAX_BODY_BYTES} bytes")
    url = f"{svc.gateway_url}/v1/models/{name}:predict"
    headers = {"Authorization": request.headers.get("authorization", "")}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            answer = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise BackendUnavailable(f"the gateway at {svc.gateway_url} did not answer: {exc}") from exc
    try:
        content = answer.json()
    except ValueError:
        content = {"error": answer.text[:2000]}
    return JSONResponse(content, status_code=answer.status_code)
