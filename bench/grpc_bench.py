"""V2 over gRPC: Shipyard's gateway gRPC port beside KServe's own gRPC server, in the same run.

Each target of the sweep that serves Open Inference Protocol V2 over gRPC (``Started.extra
["grpc"]``: Shipyard's gateway, ``SHIPYARD_GATEWAY_GRPC_PORT``; KServe's ``ModelServer``,
``--grpc_port``) is driven, after its REST runs and while still up, by the same closed-loop
client (:mod:`bench.grpc_load`) at each of :data:`CONCURRENCIES`; Shipyard's calls carry the
API key as ``authorization`` metadata. The report shows req/s, p50 and p99 of both and
Shipyard's ratio to KServe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import grpc_load
from bench.grpc_load import GrpcTarget
from bench.load import LoadResult
from bench.settings import MODEL_NAME, RunSettings
from bench.target import Started

CONCURRENCIES = (1, 32)
PAUSE_S = 1.0
OURS, PEER = "shipyard", "kserve"


@dataclass(frozen=True)
class GrpcRun:
    """One target's V2 gRPC run at one concurrency."""

    target: str
    load: LoadResult


def measure(started: Started, s: RunSettings) -> list[GrpcRun]:
    """The gRPC runs of ``started`` (none when it serves no gRPC or is not compared)."""
    address = started.extra.get("grpc")
    if not isinstance(address, str) or started.name not in (OURS, PEER):
        return []
    auth = started.endpoints[0].request.authorization
    target = GrpcTarget(address, MODEL_NAME, auth)
    runs = []
    for concurrency in CONCURRENCIES:
        time.sleep(PAUSE_S)
        try:
            result = grpc_load.run(
                target, concurrency=concurrency, duration_s=s.duration_s, warmup_s=s.warmup_s
            )
        except RuntimeError as exc:
            print(f"  {started.name} grpc c={concurrency}: failed: {exc}", flush=True)
            continue
        runs.append(GrpcRun(started.name, result))
        print(
            f"  {started.name} grpc c={concurrency}: {result.rps:8.0f} req/s  "
            f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
            f"errors {result.errors}  (client {result.wrk_cpu_share:.0%} of a core)",
            flush=True,
        )
    return runs


def _find(runs: list[GrpcRun], target: str, concurrency: int) -> LoadResult | None:
    return next(
        (r.load for r in runs if r.target == target and r.load.concurrency == concurrency), None
    )


def _x(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs > 0 else "-"


def report_lines(runs: list[GrpcRun]) -> list[str]:
    """The RESULTS.md section (empty when no gRPC run was made)."""
    if not runs:
        return []
    lines = [
        "## V2 over gRPC: Shipyard's gateway beside KServe's gRPC server (issue 22)",
        "",
        f"`ModelInfer` of one FP32 [1, 4] row, closed loop, {grpc_load.CHANNELS} channels, the "
        "same client for both (`bench/grpc_load.py`, grpc.aio, its own process), each target "
        "right after its REST runs. Shipyard: through the gateway workers' gRPC port with the "
        "API key as metadata; KServe: `ModelServer`'s gRPC server (one process, in the parent).",
        "",
        "| target | concurrency | req/s | p50 ms | p99 ms | errors | client CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in sorted(runs, key=lambda r: (r.load.concurrency, r.target != OURS)):
        r = run.load
        lines.append(
            f"| {run.target} | {r.concurrency} | {r.rps:.0f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.errors} | {r.wrk_cpu_share:.0%} |"
        )
    lines += ["", "Shipyard / KServe:", ""]
    for concurrency in CONCURRENCIES:
        ours, theirs = _find(runs, OURS, concurrency), _find(runs, PEER, concurrency)
        if ours is None or theirs is None:
            continue
        lines.append(
            f"- c={concurrency}: req/s {_x(ours.rps, theirs.rps)}, p50 "
            f"{_x(ours.p50_ms, theirs.p50_ms)}, p99 {_x(ours.p99_ms, theirs.p99_ms)} "
            "(below 1.00x is faster for latency)"
        )
    lines.append("")
    return lines
