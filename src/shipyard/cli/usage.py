"""``shipyard deployments usage NAME``: a deployment's usage history as a compact table, and
``shipyard deployments advice NAME``: right-sizing advice (also shown by ``status``).

Layer: ``shipyard.cli``. Reads ``Deployment.get_usage`` and prints one row per replica: CPU
and memory as a sparkline over the range (samples and buckets together, scaled to the limit
so a full bar is the limit), their mean and maximum against the request and limit, restarts;
then the OOM kills, restarts and scale changes in the range. ``--json`` prints the answer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from shipyard.cli._options import Json, NameArg
from shipyard.cli._render import out, print_json
from shipyard.cli._state import project_of
from shipyard.errors import NotFound
from shipyard.sdk import Deployment
from shipyard.spec.advice import DeploymentAdvice
from shipyard.spec.coldstart import ColdStartsOut
from shipyard.spec.usage import ReplicaUsageOut, UsageOut

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 30
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")

Since = Annotated[
    str,
    typer.Option(help="How far back: a duration (30m, 6h, 1d) or an ISO time with a zone."),
]
SinceOrChange = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Window: a duration (30m, 6h, 1d) or an ISO time; default the last change of "
        "resources.",
    ),
]


def parse_since(text: str) -> datetime | timedelta:
    """``30m``/``6h``/``1d`` as a duration, or an ISO 8601 time with its zone.

    Raises:
        typer.BadParameter: Neither.
    """
    match = _DURATION.match(text.strip())
    if match:
        return timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} is neither a duration (30m, 6h, 1d) nor an ISO time with a zone "
            "(2026-12-05T09:00:00+00:00)",
            param_hint="--since",
        )
    return when


def sparkline(values: list[float | None], top: float, width: int = WIDTH) -> str:
    """``values`` (oldest first) squeezed into ``width`` bars, each the max of its share;
    a bar is full at ``top`` (the limit) and a gap is a space."""
    if not values:
        return ""
    per = max(1, -(-len(values) // width))
    bars = []
    for i in range(0, len(values), per):
        seen = [v for v in values[i : i + per] if v is not None]
        if not seen or top <= 0:
            bars.append(" ")
            continue
        level = min(max(seen) / top, 1.0)
        bars.append(BARS[min(int(level * len(BARS)), len(BARS) - 1)])
    return "".join(bars)


def _series(r: ReplicaUsageOut, cpu: bool) -> list[float | None]:
    """Bucket means then samples, oldest first (max would exaggerate a day-long bar)."""
    values: list[float | None] = []
    for b in r.buckets:
        spread = b.cpu_cores if cpu else b.memory_mb
        values.append(None if spread is None else spread.max)
    values.extend(s.cpu_cores if cpu else s.memory_mb for s in r.samples)
    return values


def _stats(values: list[float | None], digits: int) -> str:
    seen = [v for v in values if v is not None]
    if not seen:
        return "-"
    return f"{sum(seen) / len(seen):.{digits}f} / {max(seen):.{digits}f}"


def usage_table(usage: UsageOut) -> Table:
    """One row per replica: sparklines of CPU and memory against the limit, mean / max."""
    table = Table(
        "REPLICA", "CPU (to limit)", "MEAN/MAX", "REQ/LIM", "MEMORY (to limit)",
        "MEAN/MAX MB", "REQ/LIM MB", "RESTARTS", box=None, pad_edge=False,
    )  # fmt: skip
    for r in usage.replicas:
        cpu, memory = _series(r, cpu=True), _series(r, cpu=False)
        cpu_top = r.limits.cores if r.limits else max((v or 0 for v in cpu), default=0)
        mem_top = r.limits.memory if r.limits else max((v or 0 for v in memory), default=0)
        req, lim = r.requests, r.limits
        table.add_row(
            f"{r.replica}{'' if r.live else ' (gone)'}",
            sparkline(cpu, cpu_top),
            _stats(cpu, 2),
            f"{req.cores if req else '-'} / {lim.cores if lim else '-'}",
            sparkline(memory, mem_top),
            _stats(memory, 0),
            f"{req.memory if req else '-'} / {lim.memory if lim else '-'}",
            str(r.restarts),
        )
    return table


def usage(ctx: typer.Context, name: NameArg, since: Since = "1h", as_json: Json = False) -> None:
    """Show CPU and memory per replica over time against request and limit, with OOM kills,
    restarts and scale changes (every sample of the last hour, minute buckets for a day)."""
    deployment = project_of(ctx).get_model_serving().get_deployment(name)
    answer = deployment.get_usage(since=parse_since(since))
    if as_json:
        print_json(answer.model_dump(mode="json"))
        return
    console = out()
    if not answer.replicas:
        console.print(f"no usage recorded for {name!r} since {since}")
    else:
        console.print(usage_table(answer))
    for event in answer.events:
        when = datetime.fromtimestamp(event.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        who = event.replica or event.component
        console.print(f"{when}  {event.kind.upper():8} {who}  {event.message}")


def advice_lines(advice: DeploymentAdvice) -> list[str]:
    """Per component: the recommendation (or why none), its reasons, effects and command."""
    lines: list[str] = []
    for c in advice.components:
        ev = c.evidence
        if not c.enough_data:
            lines.append(f"{c.component}: {c.reasons[0]}")
            continue
        if c.requests is None or c.limits is None:
            lines.append(
                f"{c.component}: keep the current request and limit ({ev.samples} samples)"
            )
            continue
        lines.append(
            f"{c.component}: request {c.requests.cores:g} cores / {c.requests.memory} MiB, "
            f"limit {c.limits.cores:g} cores / {c.limits.memory} MiB "
            f"(now {c.current_requests.cores:g}/{c.current_requests.memory} and "
            f"{c.current_limits.cores:g}/{c.current_limits.memory}; {ev.samples} samples, "
            f"{ev.oom_kills} OOM kill{'s' * (ev.oom_kills != 1)})"
        )
        lines.extend(f"  {reason}" for reason in c.reasons)
        lines.extend(f"  effect: {effect}" for effect in c.effects)
        lines.append(f"  apply:  {c.command}")
    return lines


def advice(
    ctx: typer.Context, name: NameArg, since: SinceOrChange = None, as_json: Json = False
) -> None:
    """Recommend a request and limit per component from observed usage (never applied:
    prints the command that applies it)."""
    deployment = project_of(ctx).get_model_serving().get_deployment(name)
    answer = deployment.get_advice(since=parse_since(since) if since else None)
    if as_json:
        print_json(answer.model_dump(mode="json"))
        return
    console = out()
    for line in advice_lines(answer):
        console.print(line, markup=False)


def cold_start_lines(starts: ColdStartsOut) -> list[str]:
    """Per component: the latest start's phases and the p50/p95 of the total."""
    lines = []
    for c in starts.components:
        phases = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in c.latest.phases.items())
        total = c.percentiles["total"]
        lines.append(
            f"{c.component}: latest {c.latest.total_s:.2f}s ({phases}); "
            f"p50 {total.p50:.2f}s, p95 {total.p95:.2f}s over {c.count} start(s)"
        )
    return lines


def status_sections(deployment: Deployment) -> list[tuple[str, list[str]]]:
    """The cold starts and the advice ``deployments status`` adds, each left out when empty
    or when the server does not answer it (an older server: 404)."""
    sections: list[tuple[str, list[str]]] = []
    try:
        starts = cold_start_lines(deployment.get_cold_starts())
    except NotFound:
        starts = []
    if starts:
        sections.append(("cold starts", starts))
    try:
        advice = advice_lines(deployment.get_advice())
    except NotFound:
        advice = []
    if advice:
        sections.append(("right-sizing advice", advice))
    return sections
