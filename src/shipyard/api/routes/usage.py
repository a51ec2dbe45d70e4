"""What the web UI needs beyond the CRUD routes: a deployment's usage history per replica
(from ``api.usage_history``) and its logs followed as they are written (NDJSON stream).

Both are part of the public REST API (same key, same errors) and usable by any client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from shipyard.api.deps import CallerDep, ServicesDep
from shipyard.api.services import Services
from shipyard.api.usage_buckets import Spread
from shipyard.api.usage_history import ReplicaSeries, UsageHistory
from shipyard.errors import InvalidSpec, NotFound, NotReady
from shipyard.spec.deployment import Component
from shipyard.spec.usage import (
    BucketOut,
    ReplicaUsageOut,
    SampleOut,
    SpreadOut,
    UsageEventOut,
    UsageOut,
)
from shipyard.store import DeploymentRecord

router = APIRouter(tags=["deployments"])

FOLLOW_POLL_S = 0.5
FOLLOW_WINDOW = 500  # lines per replica read on every poll
MAX_FOLLOW_S = 900.0  # a follow ends after this long; the client may follow again
MAX_FOLLOWERS = 64  # log follows open at once on this server


class FollowSlots:
    """How many log follows may be open at once (each polls the log files twice a second)."""

    def __init__(self, limit: int = MAX_FOLLOWERS) -> None:
        self.limit = limit
        self.open = 0
        self.closing = False

    def close(self) -> None:
        """The server stops: open follows end at their next poll, new ones are refused."""
        self.closing = True

    def take(self) -> None:
        """Take a slot, or raise ``NotReady`` (503) when all are taken or the server stops."""
        if self.closing:
            raise NotReady("the server is stopping: follow the logs again once it is back")
        if self.open >= self.limit:
            raise NotReady(
                f"{self.open} log follows are open, the most this server allows: close one, "
                "or read the last lines with GET /deployments/{name}/logs?tail=N"
            )
        self.open += 1

    def give_back(self) -> None:
        self.open -= 1


def usage_history(request: Request) -> UsageHistory:
    history: UsageHistory = request.app.state.usage
    return history


UsageDep = Annotated[UsageHistory, Depends(usage_history)]


def _visible(svc: Services, project_id: str, name: str) -> DeploymentRecord:
    record = svc.store.get_deployment(project_id, name)
    if record.deleting:
        raise NotFound(f"deployment {name!r} not found (it is being deleted)")
    return record


def _spread(value: Spread | None) -> SpreadOut | None:
    return None if value is None else SpreadOut(min=value.min, mean=value.mean, max=value.max)


def _replica_out(r: ReplicaSeries) -> ReplicaUsageOut:
    return ReplicaUsageOut(
        replica=r.replica, component=r.component, slot=r.slot, requests=r.requests,
        limits=r.limits, restarts=r.restarts, live=r.live,
        samples=[
            SampleOut(at=s.at, cpu_cores=s.cpu_cores, memory_mb=s.memory_mb,
                      memory_peak_mb=s.memory_peak_mb, cpu_throttled=s.cpu_throttled)
            for s in r.samples
        ],
        buckets=[
            BucketOut(at=b.at, span_s=b.span_s, count=b.count, cpu_cores=_spread(b.cpu_cores),
                      memory_mb=_spread(b.memory_mb), memory_peak_mb=b.memory_peak_mb,
                      cpu_throttled=b.cpu_throttled)
            for b in r.buckets
        ],
    )  # fmt: skip


def usage_range(
    now: float, window_s: float | None, since: float | None, until: float | None
) -> tuple[float, float]:
    """The ``[since, until]`` asked for: ``since``/``until`` (epoch seconds) win over
    ``window_s`` (the last seconds); default the last hour. Raises ``InvalidSpec``."""
    end = now if until is None else until
    if since is not None and window_s is not None:
        raise InvalidSpec("give either since= or window_s=, not both")
    start = since if since is not None else end - (3600.0 if window_s is None else window_s)
    if start >= end:
        raise InvalidSpec(
            f"since={start} is not before until={end}: give since= earlier than until= "
            "(both in seconds since the epoch)"
        )
    return start, end


@router.get("/deployments/{name}/usage")
def deployment_usage(
    name: str,
    who: CallerDep,
    svc: ServicesDep,
    history: UsageDep,
    window_s: float | None = Query(
        None, gt=0, le=86400 * 7, description="How far back, in seconds (default 3600)."
    ),
    since: float | None = Query(None, ge=0, description="From, seconds since the epoch."),
    until: float | None = Query(None, ge=0, description="To, seconds since the epoch (now)."),
) -> UsageOut:
    """CPU and memory of every replica in a time range (every sample of the last hour,
    min/mean/max buckets before it, for a day), with OOM kills, restarts and scale changes."""
    _visible(svc, who.project.id, name)
    now = time.time()
    start, end = usage_range(now, window_s, since, until)
    replicas, events = history.query(who.project.id, name, start, end)
    return UsageOut(
        interval_s=history.interval_s,
        retention_s=history.retention_s,
        history_s=history.history_s,
        bucket_s=history.bucket_s,
        since=start,
        until=end,
        now=now,
        replicas=[_replica_out(r) for r in replicas],
        events=[
            UsageEventOut(
                at=e.at,
                kind=e.kind,
                component=e.component,
                replica=e.replica,
                slot=e.slot,
                message=e.message,
            )
            for e in events
        ],
    )


def fresh_lines(before: list[str], after: list[str]) -> list[str]:
    """The lines of ``after`` (a file's tail now) written since ``before`` (its tail earlier):
    what follows the longest suffix of ``before`` that is a prefix of ``after``."""
    if not before:
        return list(after)
    last = before[-1]
    for k in range(min(len(before), len(after)), 0, -1):
        if after[k - 1] == last and after[:k] == before[-k:]:
            return after[k:]
    return list(after)  # no overlap: everything is new (or more than a window was written)


def _by_replica(
    svc: Services, deployment_id: str, component: str, tail: int
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in svc.controller.logs(deployment_id, component, tail):
        out.setdefault(entry.replica_id, []).append(entry.line)
    return out


async def _follow(
    request: Request, svc: Services, deployment_id: str, component: str, tail: int
) -> AsyncIterator[bytes]:
    slots: FollowSlots = request.app.state.log_followers
    try:
        async for chunk in _follow_lines(request, slots, svc, deployment_id, component, tail):
            yield chunk
    finally:
        slots.give_back()


async def _follow_lines(
    request: Request,
    slots: FollowSlots,
    svc: Services,
    deployment_id: str,
    component: str,
    tail: int,
) -> AsyncIterator[bytes]:
    seen = await asyncio.to_thread(_by_replica, svc, deployment_id, component, FOLLOW_WINDOW)
    for replica, lines in seen.items():
        for line in lines[-tail:] if tail else []:
            yield (json.dumps({"replica": replica, "line": line}) + "\n").encode()
    deadline = time.monotonic() + MAX_FOLLOW_S
    while time.monotonic() < deadline and not slots.closing and not await request.is_disconnected():
        await asyncio.sleep(FOLLOW_POLL_S)
        now = await asyncio.to_thread(_by_replica, svc, deployment_id, component, FOLLOW_WINDOW)
        for replica, lines in now.items():
            for line in fresh_lines(seen.get(replica, []), lines):
                yield (json.dumps({"replica": replica, "line": line}) + "\n").encode()
        seen = now


@router.get(
    "/deployments/{name}/logs/follow",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def follow_logs(
    name: str,
    request: Request,
    who: CallerDep,
    svc: ServicesDep,
    component: str = Query("predictor", description="predictor or transformer"),
    tail: int = Query(50, ge=0, le=FOLLOW_WINDOW, description="lines per replica to start with"),
) -> StreamingResponse:
    """The last ``tail`` lines per replica, then every new line as it is written, one JSON
    object per line (``{"replica": ..., "line": ...}``), for up to 15 minutes."""
    record = _visible(svc, who.project.id, name)
    if component not in {c.value for c in Component}:
        raise InvalidSpec(f"component {component!r} is invalid: use predictor or transformer")
    request.app.state.log_followers.take()
    stream = _follow(request, svc, record.id, component, tail)
    return StreamingResponse(
        stream, media_type="application/x-ndjson", headers={"Cache-Control": "no-store"}
    )
