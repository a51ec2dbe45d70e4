"""API keys of the caller's project: list (prefix and creation time, never the secret), create
(full or read-only), revoke and rotate. A revoked key is refused by the API at once and by the
gateway with its next routing table (the controller publishes one as soon as a key changes)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shipyard.api.deps import CallerDep, ServicesDep
from shipyard.api.schemas import KeyCreate, KeyCreated, KeyOut

router = APIRouter(tags=["keys"])


@router.get("/keys")
def list_keys(who: CallerDep, svc: ServicesDep) -> list[KeyOut]:
    return [KeyOut.of(k) for k in svc.store.list_api_keys(who.project.id)]


@router.post("/keys", status_code=201)
def create_key(who: CallerDep, svc: ServicesDep, body: KeyCreate | None = None) -> KeyCreated:
    read_only = body.read_only if body is not None else False
    record, plain = svc.store.issue_api_key(who.project.id, read_only=read_only)
    svc.controller.notify()  # the gateway learns the new key with the next routing table
    return KeyCreated(key=KeyOut.of(record), api_key=plain)


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: str, who: CallerDep, svc: ServicesDep) -> Response:
    svc.store.revoke_api_key(who.project.id, key_id)
    svc.controller.notify()  # and forgets a revoked one with the next table, within seconds
    return Response(status_code=204)


@router.post("/keys/{key_id}/rotate", status_code=201)
def rotate_key(key_id: str, who: CallerDep, svc: ServicesDep) -> KeyCreated:
    """A new key with the same rights as ``key_id``, which is revoked."""
    old = next((k for k in svc.store.list_api_keys(who.project.id) if k.id == key_id), None)
    read_only = old.read_only if old is not None else False
    svc.store.revoke_api_key(who.project.id, key_id)  # NotFound for another project's key
    record, plain = svc.store.issue_api_key(
        who.project.id, is_admin=old.is_admin if old else False, read_only=read_only
    )
    svc.controller.notify()
    return KeyCreated(key=KeyOut.of(record), api_key=plain)
