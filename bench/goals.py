"""Issue 7's speed targets, judged from the measured numbers (never asserted, only reported).

Ratios are against the *best peer* of the same protocol table: the highest requests/s, the
lowest p50 or p99 among the peers measured in the same run. A target over several protocol
tables is met only when it is met in each table that has a peer. On V1 the headline ratios are
judged on the interleaved re-check when it ran (:mod:`bench.interleave`: the targets taking
turns, each round's ratio taken between turns seconds apart, the verdict the median of those
ratios, so the machine's drift cancels out); the ratio of the main sweep is shown beside it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.envbuild import EnvBuilds
from bench.measure import Run, TargetResult
from bench.results import Results

MB = 1_000_000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One measured protocol/concurrency figure of one target, with its ratios to the best peer."""

    target: str
    run: Run
    rps_ratio: float | None
    p50_ratio: float | None
    p99_ratio: float | None


@dataclass(frozen=True)
class Verdict:
    """One target of issue 7: what it asks, what was measured, whether it is met."""

    goal: str
    measured: str
    met: bool | None
    """None = not measured yet."""


def protocols(results: Results) -> list[str]:
    seen = {run.protocol for t in results.targets for run in t.runs}
    return sorted(seen)


def table(results: Results, protocol: str, concurrency: int) -> list[Row]:
    """Every target's run at (protocol, concurrency), with ratios to the best peer."""
    runs = [
        (t.name, run)
        for t in results.targets
        for run in t.runs
        if run.protocol == protocol and run.load.concurrency == concurrency
    ]
    peers = [run.load for name, run in runs if not is_shipyard(name)]
    best_rps = max((r.rps for r in peers), default=None)
    best_p50 = min((r.p50_ms for r in peers), default=None)
    best_p99 = min((r.p99_ms for r in peers), default=None)

    def ratio(value: float, best: float | None) -> float | None:
        return value / best if best else None

    return [
        Row(
            name,
            run,
            ratio(run.load.rps, best_rps),
            ratio(run.load.p50_ms, best_p50),
            ratio(run.load.p99_ms, best_p99),
        )
        for name, run in runs
    ]


def is_shipyard(name: str) -> bool:
    """Whether a target is Shipyard (with or without batching) rather than a peer."""
    return name.startswith("shipyard")


def _best_peer(rows: list[Row], key: str) -> Row | None:
    peers = [r for r in rows if not is_shipyard(r.target)]
    if not peers:
        return None
    if key == "rps":
        return max(peers, key=lambda r: r.run.load.rps)
    return min(peers, key=lambda r: r.run.load.p50_ms)


@dataclass(frozen=True)
class _Turns:
    """A headline figure from the interleaved re-check: per-round ratios and both medians."""

    label: str
    peer: str
    ours: float
    theirs: float
    ratios: list[float]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios (what the verdict is judged on)."""
        return statistics.median(self.ratios)

    def rounds(self, digits: int) -> str:
        return ", ".join(f"{r:.{digits}f}" for r in self.ratios)


def _taking_turns(results: Results, concurrency: int, target: str, figure: str) -> _Turns | None:
    """``figure`` (``rps`` or ``p50_ms``) of ``target`` and its peer in the re-check, if it ran."""
    for check in results.interleaved:
        peer = next((name for name in check.runs if not is_shipyard(name)), None)
        if check.concurrency != concurrency or peer is None:
            continue
        ours, theirs = check.median(target, figure), check.median(peer, figure)
        ratios = check.ratios(target, peer, figure)
        if ours and theirs and ratios:
            label = f"taking turns: median of {len(ratios)} rounds' ratios, {check.run_s:g} s turns"
            return _Turns(label, peer, ours, theirs, ratios)
    return None


def _throughput(results: Results, target: str, factor: float, goal: str) -> Verdict:
    parts, met = [], []
    for protocol in protocols(results):
        rows = table(results, protocol, 32)
        ours = next((r for r in rows if r.target == target), None)
        best = _best_peer(rows, "rps")
        if ours is None or best is None or ours.rps_ratio is None:
            continue
        turns = _taking_turns(results, 32, target, "rps") if protocol == "v1" else None
        if turns is not None:
            met.append(turns.ratio >= factor)
            parts.append(
                f"{protocol.upper()} ({turns.label}): **{turns.ratio:.2f}x** {turns.peer} "
                f"(rounds: {turns.rounds(2)}; medians {turns.ours:,.0f} vs {turns.theirs:,.0f} "
                f"req/s; one after another: {ours.rps_ratio:.2f}x)"
            )
            continue
        met.append(ours.rps_ratio >= factor)
        parts.append(
            f"{protocol.upper()}: {ours.run.load.rps:,.0f} vs {best.target} "
            f"{best.run.load.rps:,.0f} req/s = {ours.rps_ratio:.2f}x"
        )
    return Verdict(
        goal, "; ".join(parts) or "not measured (no comparable rows)", all(met) if met else None
    )


def _latency(results: Results) -> Verdict:
    parts, met = [], []
    for protocol in protocols(results):
        rows = table(results, protocol, 1)
        ours = next((r for r in rows if r.target == "shipyard"), None)
        best = _best_peer(rows, "p50")
        if ours is None or best is None:
            continue
        turns = _taking_turns(results, 1, "shipyard", "p50_ms") if protocol == "v1" else None
        if turns is not None:
            met.append(turns.ratio < 1)
            parts.append(
                f"{protocol.upper()} ({turns.label}): p50 **{turns.ratio:.2f}x** {turns.peer}'s "
                f"(rounds: {turns.rounds(2)}; medians {turns.ours:.2f} vs {turns.theirs:.2f} ms; "
                f"one after another: {ours.run.load.p50_ms:.2f} vs {best.run.load.p50_ms:.2f} ms)"
            )
            continue
        met.append(ours.run.load.p50_ms < best.run.load.p50_ms)
        parts.append(
            f"{protocol.upper()}: {ours.run.load.p50_ms:.2f} ms vs {best.target} "
            f"{best.run.load.p50_ms:.2f} ms"
        )
    return Verdict(
        "p50 latency at concurrency 1 below every peer's",
        "; ".join(parts) or "no comparable rows",
        all(met) if met else None,
    )


def _cold_start(shipyard: TargetResult | None) -> Verdict:
    goal = "first response from zero instances < 1 s (scikit-learn model)"
    deploy = shipyard.extra.get("deploy") if shipyard else None
    starts = deploy.get("cold_starts") if isinstance(deploy, dict) else None
    if not starts:
        return Verdict(goal, "not measured (Shipyard did not run)", None)
    seconds = ", ".join(f"{c['seconds']:.2f} s (HTTP {c['status']})" for c in starts)
    median = deploy.get("cold_start_median_s") if isinstance(deploy, dict) else None
    if median is None:
        return Verdict(goal, f"{seconds}: not every request was answered with a 2xx", False)
    return Verdict(goal, f"median {float(median):.2f} s ({seconds})", float(median) < 1.0)


def _deploy(shipyard: TargetResult | None) -> Verdict:
    goal = "deploy to first prediction (environment cached) < 2 s"
    deploy = shipyard.extra.get("deploy") if shipyard else None
    if not isinstance(deploy, dict) or deploy.get("polled_median_s") is None:
        return Verdict(goal, "not measured (Shipyard did not run)", None)
    median, sdk = float(deploy["polled_median_s"]), deploy.get("sdk_wait_s")
    measured = f"{median:.2f} s (median of polled deploys)"
    if sdk is not None:
        measured += f"; {float(sdk):.2f} s with deploy() waiting for RUNNING"
    return Verdict(
        goal, measured + "; no environment: replicas run the server's interpreter", median < 2.0
    )


def replica_overhead_mib(results: Results) -> float | None:
    """Largest Shipyard replica RSS minus the bare process's, in MiB."""
    shipyard, bare = results.target("shipyard"), results.bare.get("shipyard")
    if shipyard is None or bare is None:
        return None
    replicas = [m.rss_mib for m in shipyard.memory if m.role == "replica"]
    return max(replicas) - bare.rss_mib if replicas else None


def _memory(results: Results) -> Verdict:
    goal = "replica RSS <= 20 MB above a bare python that imports sklearn and loads the model"
    extra = replica_overhead_mib(results)
    if extra is None:
        return Verdict(goal, "not measured (Shipyard did not run)", None)
    extra_mb = extra * MIB / MB
    measured = f"{extra:+.1f} MiB ({extra_mb:+.1f} MB), largest replica"
    shipyard = results.target("shipyard")
    zygotes = [m.rss_mib for m in shipyard.memory if m.role == "zygote"] if shipyard else []
    if zygotes:  # forked replicas share its pages: their RSS counts only the pages they touched
        measured += (
            f"; replicas are forked from a zygote of {max(zygotes):.0f} MiB RSS (shared "
            "copy-on-write, one per interpreter and framework)"
        )
    return Verdict(goal, measured, extra_mb <= 20)


def environment(builds: EnvBuilds | None) -> Verdict:
    """Issue 7's environment target, from the median warm-cache build (new home, same uv cache)."""
    goal = "warm-cache environment build (scikit-learn + numpy) < 1 s"
    if builds is None:
        return Verdict(goal, "not measured (no Shipyard target in this run)", None)
    warm = builds.median_s("shipyard", "warm cache")
    if warm is None:
        failed = next((b.note for b in builds.runs("shipyard", "warm cache") if b.note), "")
        why = failed or builds.error or "no warm-cache build ran"
        return Verdict(goal, f"not measured: {why}", None)
    each = ", ".join(f"{b.seconds:.2f}" for b in builds.runs("shipyard", "warm cache") if b.seconds)
    measured = f"median {warm:.2f} s ({each} s; new home each, resolve included)"
    parts = []
    for tool, case in (("shipyard", "cold cache"), ("pip", "warm cache")):
        value = builds.median_s(tool, case)
        if value is not None:
            parts.append(
                f"{'Shipyard' if tool == 'shipyard' else 'plain pip'} {case} {value:.1f} s"
            )
    if parts:
        measured += "; " + ", ".join(parts)
    return Verdict(goal, measured, warm < 1.0)


def verdicts(results: Results) -> list[Verdict]:
    """Every issue 7 target, measured or marked as not measured yet."""
    shipyard = results.target("shipyard")
    return [
        _throughput(
            results,
            "shipyard+batching",
            3.0,
            "throughput at concurrency 32 >= 3x the best peer, batching on",
        ),
        _throughput(
            results,
            "shipyard",
            1.5,
            "throughput at concurrency 32 >= 1.5x the best peer, batching off",
        ),
        _latency(results),
        _deploy(shipyard),
        _cold_start(shipyard),
        _memory(results),
        environment(results.environment_builds),
    ]
