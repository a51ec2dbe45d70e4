"""``GET /deployments/{name}/coldstarts``: where the time of the recent replica starts went.

Layer: ``shipyard.api``. Reads ``Controller.cold_starts`` (``controller.coldstart``) and
answers ``spec.coldstart.ColdStartsOut``: per component the latest start's phases and the
percentiles of each phase over the recent starts (kept in memory: since the server started).
"""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.deps import CallerDep, ServicesDep
from shipyard.controller.coldstart import PHASES, ColdStart
from shipyard.errors import NotFound
from shipyard.spec.coldstart import ColdStartsOut, ComponentStarts, PhaseStats, StartOut

router = APIRouter(tags=["deployments"])


def _stats(values: list[float]) -> PhaseStats:
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]

    return PhaseStats(p50=at(0.5), p95=at(0.95), max=ordered[-1])


def start_out(start: ColdStart) -> StartOut:
    return StartOut(
        replica=start.replica_id,
        ready_at=start.ready_at,
        total_s=start.total_s,
        phases=dict(start.phases),
        reused_environment=start.reused_environment,
        runtime_reported=start.runtime_reported,
    )


def component_starts(component: str, starts: list[ColdStart]) -> ComponentStarts:
    """The latest of ``starts`` (oldest first, not empty) and percentiles over all of them."""
    percentiles = {phase: _stats([dict(s.phases)[phase] for s in starts]) for phase in PHASES}
    percentiles["total"] = _stats([s.total_s for s in starts])
    return ComponentStarts(
        component=component, count=len(starts), latest=start_out(starts[-1]),
        percentiles=percentiles,
    )  # fmt: skip


@router.get("/deployments/{name}/coldstarts")
def deployment_cold_starts(name: str, who: CallerDep, svc: ServicesDep) -> ColdStartsOut:
    """Per component: the latest replica start broken into phases (environment, capacity,
    spawn, load) and percentiles over the recent starts."""
    record = svc.store.get_deployment(who.project.id, name)
    if record.deleting:
        raise NotFound(f"deployment {name!r} not found (it is being deleted)")
    recent = svc.controller.cold_starts.recent(record.id)
    return ColdStartsOut(
        deployment=name,
        components=[component_starts(c, starts) for c, starts in sorted(recent.items()) if starts],
    )
