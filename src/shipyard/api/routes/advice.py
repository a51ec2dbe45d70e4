"""``GET /deployments/{name}/advice``: right-sizing advice per component from its usage.

Layer: ``shipyard.api``. Reads the usage history (``api.usage_history``) over a window (by
default since the last revision that changed the component's requests or limits, at most the
history's day), turns its samples and buckets into ``controller.advice.Observed`` and asks
``controller.advice.advise`` for each component. Nothing is applied: the answer carries the
command and SDK call that would apply it.
"""

from __future__ import annotations

import time
from datetime import datetime

from fastapi import APIRouter, Query

from shipyard.api.deps import CallerDep, ServicesDep
from shipyard.api.routes.usage import UsageDep, usage_range
from shipyard.api.usage_history import ReplicaSeries, UsageEvent
from shipyard.controller.advice import Observed, Target, Window, advise
from shipyard.errors import NotFound
from shipyard.spec.advice import ComponentAdvice, DeploymentAdvice
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.resources import ComponentResources
from shipyard.store import RevisionRecord

router = APIRouter(tags=["deployments"])


def _resources(spec: DeploymentSpec, component: str) -> ComponentResources | None:
    if component == "transformer":
        return spec.transformer.resources if spec.transformer else None
    return spec.predictor.resources


def resources_changed_at(revisions: list[RevisionRecord], component: str) -> datetime | None:
    """When the newest revision that changed ``component``'s requests or limits was made
    (its first revision when none did); None when there is no revision."""
    changed: datetime | None = None
    before: tuple[object, object] | None = None
    for rev in sorted(revisions, key=lambda r: r.revision):
        res = _resources(rev.spec, component)
        now = (res.requests, res.limits) if res else (None, None)
        if before is None or now != before:
            changed = rev.created_at
        before = now
    return changed


def observed(replicas: list[ReplicaSeries], component: str) -> list[Observed]:
    """Samples (weight 1) and buckets (their mean CPU, their highest memory, weighted by
    their sample count) of ``component``'s replicas."""
    out: list[Observed] = []
    for r in replicas:
        if r.component != component:
            continue
        for b in r.buckets:
            cpu = b.cpu_cores.mean if b.cpu_cores else None
            memory = b.memory_mb.max if b.memory_mb else None
            peak, throttled = b.memory_peak_mb, b.cpu_throttled
            out.append(Observed(b.at, r.replica, cpu, memory, peak, b.count, throttled))
        out.extend(
            Observed(
                s.at, r.replica, s.cpu_cores, s.memory_mb, s.memory_peak_mb, 1, s.cpu_throttled
            )
            for s in r.samples
        )
    return out


def component_advice(
    name: str,
    component: str,
    resources: ComponentResources,
    found: tuple[list[ReplicaSeries], list[UsageEvent]],
    window: Window,
) -> ComponentAdvice:
    """The advice of one component from what the history ``found`` in ``window``."""
    replicas, events = found
    ooms = sum(1 for e in events if e.kind == "oom" and e.component == component)
    samples = observed(replicas, component)
    return advise(Target(name, component), samples, resources, ooms, window)


@router.get("/deployments/{name}/advice")
def deployment_advice(
    name: str,
    who: CallerDep,
    svc: ServicesDep,
    history: UsageDep,
    since: float | None = Query(
        None,
        ge=0,
        description="From, seconds since the epoch (default: the last change of resources).",
    ),
    until: float | None = Query(None, ge=0, description="To, seconds since the epoch (now)."),
) -> DeploymentAdvice:
    """A recommended request and limit per component, with evidence and effect; never
    applied by itself ("not enough data" when there is too little)."""
    record = svc.store.get_deployment(who.project.id, name)
    if record.deleting:
        raise NotFound(f"deployment {name!r} not found (it is being deleted)")
    now = time.time()
    revisions = svc.store.list_revisions(record.id)
    out: list[ComponentAdvice] = []
    for component in ("predictor", "transformer"):
        resources = _resources(record.spec, component)
        if resources is None:
            continue
        start = since
        if start is None:
            changed = resources_changed_at(revisions, component)
            start = max(changed.timestamp() if changed else 0.0, now - history.history_s)
        begin, end = usage_range(now, None, start, until)
        found = history.query(who.project.id, name, begin, end)
        window = Window(since=begin, until=end)
        out.append(component_advice(name, component, resources, found, window))
    return DeploymentAdvice(deployment=name, components=out)
