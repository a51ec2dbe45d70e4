"""Right-sizing advice: what request and limit a component should have, from what it used.

Layer: ``shipyard.controller`` (pure: no I/O, no clock). ``advise`` takes one component's
observed usage over a window (all its replicas' samples pooled), its current resources and
the OOM kills in the window, and answers a ``spec.advice.ComponentAdvice``: a recommended
request and limit for cores and memory with the evidence (p50/p95/max, OOM kills, CPU
throttling where measured, sample count), the expected effect, and the CLI command and SDK
call that apply it as a normal update. The API feeds it from the usage history
(``api.routes.advice``); nothing here applies anything.

The rules are conservative on purpose:

- memory: the limit stays at least 30 % and 32 MiB above the highest resident memory seen;
  after an OOM kill (the peak was cut at the old limit) the limit grows to 1.5 times the old
  one; the request covers the 95th percentile plus 10 %;
- CPU: a component busy at its limit (p95 at 90 % or more, or throttled in 10 % of periods)
  gets twice the limit; otherwise the limit stays 1.5 times above the most it used (0.25
  cores at least) and the request covers the median plus 20 %;
- a change smaller than 10 % (or 16 MiB, 0.05 cores) is not worth a restart: kept;
- fewer than ``min_samples`` samples or a window shorter than ``min_span_s``: not enough data,
  unless replicas were OOM-killed (a crash loop never lives long enough to be sampled): then
  the memory limit is raised from the kills alone and CPU is kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.spec.advice import ComponentAdvice, Evidence, Percentiles
from shipyard.spec.resources import ComponentResources, Resources

MIN_SAMPLES = 30
MIN_SPAN_S = 60.0
MEMORY_STEP = 16  # MiB
CORES_STEP = 0.05
MEMORY_HEADROOM = 1.3
MEMORY_FLOOR = 64
CORES_FLOOR = 0.25
BUSY = 0.9  # p95 at this share of the limit: CPU-bound
THROTTLED = 0.1  # throttled in this share of periods: CPU-bound
KEEP = 0.1  # relative change below which the current value is kept


@dataclass(frozen=True)
class Observed:
    """One sample (``weight`` 1) or one bucket (``weight`` its samples) of one replica."""

    at: float
    replica: str
    cpu_cores: float | None
    memory_mb: float | None
    memory_peak_mb: float | None = None
    weight: int = 1
    cpu_throttled: float | None = None  # share of CPU periods throttled (None: not measured)


@dataclass(frozen=True)
class Window:
    """The span the advice covers and how much data it needs."""

    since: float
    until: float
    min_samples: int = MIN_SAMPLES
    min_span_s: float = MIN_SPAN_S


@dataclass(frozen=True)
class Target:
    """Who the command names: the deployment and its component."""

    deployment: str
    component: str  # predictor or transformer


def percentiles(values: Sequence[tuple[float, int]]) -> Percentiles | None:
    """Weighted p50, p95 and max of ``(value, weight)`` pairs (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    total = sum(w for _, w in ordered)

    def at(share: float) -> float:
        seen = 0
        for value, weight in ordered:
            seen += weight
            if seen >= share * total:
                return value
        return ordered[-1][0]

    return Percentiles(p50=at(0.5), p95=at(0.95), max=ordered[-1][0])


def _up(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 4)


def _changed(new: float, old: float, least: float) -> bool:
    return abs(new - old) >= max(least, KEEP * old)


def evidence(
    samples: Sequence[Observed], oom_kills: int, throttled: float | None, window: Window
) -> Evidence:
    """The percentiles, peak, counts and throttling the advice rests on."""
    cpu = [(s.cpu_cores, s.weight) for s in samples if s.cpu_cores is not None]
    memory = [(s.memory_mb, s.weight) for s in samples if s.memory_mb is not None]
    peaks = [p for s in samples for p in (s.memory_peak_mb, s.memory_mb) if p is not None]
    return Evidence(
        since=window.since,
        until=window.until,
        samples=sum(s.weight for s in samples),
        replicas=len({s.replica for s in samples}),
        cpu_cores=percentiles(cpu),
        memory_mb=percentiles(memory),
        memory_peak_mb=max(peaks) if peaks else None,
        oom_kills=oom_kills,
        throttled_fraction=throttled,
    )


def throttled_share(samples: Sequence[Observed]) -> float | None:
    """The weighted mean share of throttled CPU periods (None when never measured)."""
    seen = [(s.cpu_throttled, s.weight) for s in samples if s.cpu_throttled is not None]
    total = sum(w for _, w in seen)
    return round(sum(v * w for v, w in seen) / total, 3) if total else None


def _enough(samples: Sequence[Observed], window: Window) -> str:
    """Why there is not enough data ('' when there is)."""
    count = sum(s.weight for s in samples)
    if count < window.min_samples:
        return f"not enough data: {count} samples, at least {window.min_samples} needed"
    span = max(s.at for s in samples) - min(s.at for s in samples)
    if span < window.min_span_s:
        return f"not enough data: {span:.0f} s observed, at least {window.min_span_s:.0f} s needed"
    return ""


def _memory(ev: Evidence, req: int, lim: int) -> tuple[int, int, str]:
    """Recommended (request, limit) in MiB and why."""
    if ev.oom_kills:
        peak = ev.memory_peak_mb or float(lim)
        p95 = ev.memory_mb.p95 if ev.memory_mb else 0.0
        limit = _up(max(lim * 1.5, peak * 1.5), MEMORY_STEP)
        request = _up(max(p95 * 1.1, min(lim, limit)), MEMORY_STEP)
        why = (
            f"memory: {ev.oom_kills} OOM kill{'s' * (ev.oom_kills != 1)} at the {lim} MiB "
            f"limit (peak {peak:.0f} MiB): raise the limit to {limit:.0f} MiB"
        )
        return int(min(request, limit)), int(limit), why
    assert ev.memory_mb is not None
    peak = ev.memory_peak_mb or ev.memory_mb.max
    limit = _up(max(peak * MEMORY_HEADROOM, peak + 32, MEMORY_FLOOR), MEMORY_STEP)
    request = _up(max(ev.memory_mb.p95 * 1.1, 32), MEMORY_STEP)
    why = (
        f"memory: p50 {ev.memory_mb.p50:.0f}, p95 {ev.memory_mb.p95:.0f}, peak {peak:.0f} MiB "
        f"against a {req}/{lim} MiB request/limit"
    )
    return int(min(request, limit)), int(limit), why


def _cpu(ev: Evidence, req: float, lim: float) -> tuple[float, float, str]:
    """Recommended (request, limit) in cores and why."""
    assert ev.cpu_cores is not None
    cpu = ev.cpu_cores
    throttled = ev.throttled_fraction
    stats = f"p50 {cpu.p50:.2f}, p95 {cpu.p95:.2f}, max {cpu.max:.2f} cores"
    if cpu.p95 >= BUSY * lim or (throttled is not None and throttled >= THROTTLED):
        limit = _up(lim * 2, CORES_STEP)
        request = _up(max(req, cpu.p95), CORES_STEP)
        share = f", throttled in {throttled:.0%} of periods" if throttled else ""
        why = f"CPU: busy at its {lim:g}-core limit ({stats}{share}): double the limit"
        return min(request, limit), limit, why
    limit = _up(max(cpu.max * 1.5, CORES_FLOOR), CORES_STEP)
    request = _up(max(cpu.p50 * 1.2, CORES_STEP), CORES_STEP)
    why = f"CPU: {stats} against a {req:g}/{lim:g}-core request/limit"
    return min(request, limit), limit, why


def _effects(
    ev: Evidence, old: ComponentResources, requests: Resources, limits: Resources
) -> list[str]:
    n = max(old.num_instances, 1)
    out: list[str] = []
    freed_mb = (old.requests.memory - requests.memory) * n
    if freed_mb:
        verb = "frees" if freed_mb > 0 else "reserves"
        out.append(f"{verb} {_mib(abs(freed_mb))} of memory on the node ({n} instance(s))")
    freed_cores = round((old.requests.cores - requests.cores) * n, 2)
    if freed_cores:
        verb = "frees" if freed_cores > 0 else "reserves"
        out.append(f"{verb} {abs(freed_cores):g} cores on the node")
    if ev.oom_kills and limits.memory > old.limits.memory:
        out.append(f"would have avoided {ev.oom_kills} OOM kill{'s' * (ev.oom_kills != 1)}")
    if ev.throttled_fraction and limits.cores > old.limits.cores:
        out.append(f"cuts CPU throttling (in {ev.throttled_fraction:.0%} of periods now)")
    return out


def _mib(value: float) -> str:
    return f"{value / 1024:.1f} GiB" if value >= 1024 else f"{value:.0f} MiB"


def _recommend(
    ev: Evidence, old_req: Resources, old_lim: Resources, few: str = ""
) -> tuple[Resources, Resources, list[str]]:
    """The recommended request and limit (current values where a change is not worth it);
    with ``few`` samples (but OOM kills) only the memory, from the kills."""
    req_mem, lim_mem, reasons = old_req.memory, old_lim.memory, []
    if few:
        reasons.append(f"{few}: the advice rests on the OOM kills alone, CPU is kept")
    if ev.memory_mb is not None or ev.oom_kills:
        new_req, new_lim, why = _memory(ev, old_req.memory, old_lim.memory)
        reasons.append(why)
        req_mem = new_req if _changed(new_req, old_req.memory, MEMORY_STEP) else req_mem
        lim_mem = new_lim if _changed(new_lim, old_lim.memory, MEMORY_STEP) else lim_mem
    req_cpu, lim_cpu = old_req.cores, old_lim.cores
    if ev.cpu_cores is not None and not few:
        new_rc, new_lc, why = _cpu(ev, old_req.cores, old_lim.cores)
        reasons.append(why)
        req_cpu = new_rc if _changed(new_rc, old_req.cores, CORES_STEP) else req_cpu
        lim_cpu = new_lc if _changed(new_lc, old_lim.cores, CORES_STEP) else lim_cpu
    requests = Resources(
        cores=min(req_cpu, lim_cpu), memory=min(req_mem, lim_mem), gpus=old_req.gpus
    )
    return requests, Resources(cores=lim_cpu, memory=lim_mem, gpus=old_lim.gpus), reasons


def apply_hints(target: Target, requests: Resources, limits: Resources) -> tuple[str, str]:
    """The CLI command and the SDK call that apply ``requests`` and ``limits``."""
    t = "transformer-" if target.component == "transformer" else ""
    command = (
        f"shipyard deployments update {target.deployment} --{t}cores {requests.cores:g} "
        f"--{t}memory {requests.memory} --{t}limit-cores {limits.cores:g} "
        f"--{t}limit-memory {limits.memory}"
    )
    owner = "d.predictor.transformer" if target.component == "transformer" else "d.predictor"
    sdk = (
        f'd = project.get_model_serving().get_deployment("{target.deployment}"); '
        f"{owner}.resources.requests = Resources(cores={requests.cores:g}, "
        f"memory={requests.memory}); {owner}.resources.limits = Resources("
        f"cores={limits.cores:g}, memory={limits.memory}); d.save()"
    )
    return command, sdk


def advise(
    target: Target,
    samples: Sequence[Observed],
    resources: ComponentResources,
    oom_kills: int,
    window: Window,
    throttled: float | None = None,
) -> ComponentAdvice:
    """Recommend a request and limit for ``target`` from its usage in ``window``.

    Args:
        target: The deployment and component (named in the command).
        samples: Every sample or bucket of its replicas in the window.
        resources: Its current instances, requests and limits.
        oom_kills: OOM kills of its replicas in the window.
        window: The window and how much data advice needs.
        throttled: Share of CPU periods throttled (None: the samples' own measure, if any).

    Returns:
        The advice; ``enough_data`` False (and nothing recommended) when there is too little.
    """
    measured = throttled_share(samples) if throttled is None else throttled
    ev = evidence(samples, oom_kills, measured, window)
    old_req, old_lim = resources.requests, resources.limits
    base = ComponentAdvice(
        component=target.component, enough_data=False, current_requests=old_req,
        current_limits=old_lim, requests=None, limits=None, reasons=[], effects=[],
        evidence=ev, command="", sdk="",
    )  # fmt: skip
    missing = _enough(samples, window) if samples else "not enough data: no samples yet"
    if missing and not oom_kills:
        return base.model_copy(update={"reasons": [missing]})
    requests, limits, reasons = _recommend(ev, old_req, old_lim, missing)
    if requests == old_req and limits == old_lim:
        reasons.append("the current request and limit fit what it used: keep them")
        return base.model_copy(update={"enough_data": True, "reasons": reasons})
    command, sdk = apply_hints(target, requests, limits)
    return base.model_copy(
        update={
            "enough_data": True, "requests": requests, "limits": limits, "reasons": reasons,
            "effects": _effects(ev, resources, requests, limits), "command": command, "sdk": sdk,
        }
    )  # fmt: skip
