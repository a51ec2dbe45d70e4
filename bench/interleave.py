"""The headline comparisons once more, with the targets taking turns: drift cancels out.

The main sweep measures one target after another, minutes apart, and this kind of machine (a
small VM) changes speed by tens of percent within minutes, peers included. So the ratios the
targets are judged on are measured again here: Shipyard (with and without batching, one server)
and the best peer of each headline figure run side by side, idle while not measured, and take
turns at one concurrency for a few short rounds, the order reversed every round.

A ratio is judged per round, between turns taken seconds apart, and the verdict is the median
of those per-round ratios (a paired comparison): the drift between rounds cancels out of each
ratio, where a ratio of medians could set one round's Shipyard against another round's peer.
The medians of each figure are reported beside it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from bench import load
from bench.load import LoadResult
from bench.target import Started

ROUNDS = 5
PAUSE_S = 1.0


@dataclass
class Interleaved:
    """One concurrency: every round's V1 result of each target, in the order they ran."""

    concurrency: int
    run_s: float
    order: list[str] = field(default_factory=list)
    """Targets in the first round's order (the next round reverses it, and so on)."""
    runs: dict[str, list[LoadResult]] = field(default_factory=dict)

    def median(self, target: str, figure: str) -> float | None:
        """Median of ``figure`` (``rps`` or ``p50_ms``) over ``target``'s rounds."""
        values = [getattr(r, figure) for r in self.runs.get(target, [])]
        return statistics.median(values) if values else None

    def ratios(self, target: str, peer: str, figure: str) -> list[float]:
        """Per round, ``target``'s ``figure`` over ``peer``'s (rounds where both ran)."""
        pairs = zip(self.runs.get(target, []), self.runs.get(peer, []), strict=False)
        return [
            getattr(ours, figure) / getattr(theirs, figure)
            for ours, theirs in pairs
            if getattr(theirs, figure) > 0
        ]

    def errors(self, target: str) -> int:
        return sum(r.errors for r in self.runs.get(target, []))


def measure(
    started: list[Started],
    *,
    concurrency: int,
    run_s: float,
    warmup_s: float,
    threads: int,
    rounds: int = ROUNDS,
) -> Interleaved:
    """Warm each target up, then ``rounds`` turns of ``run_s`` seconds each on V1."""
    result = Interleaved(concurrency, run_s, [s.name for s in started])
    requests = {s.name: next(e.request for e in s.endpoints if e.protocol == "v1") for s in started}
    for name, request in requests.items():
        load.run(request, concurrency=concurrency, duration_s=warmup_s, threads=threads)
        result.runs[name] = []
    for turn in range(rounds):
        order = result.order if turn % 2 == 0 else result.order[::-1]
        for name in order:
            time.sleep(PAUSE_S)
            run = load.run(
                requests[name], concurrency=concurrency, duration_s=run_s, threads=threads
            )
            result.runs[name].append(run)
            print(
                f"  round {turn + 1} c={concurrency} {name}: {run.rps:8.0f} req/s  "
                f"p50 {run.p50_ms:6.2f} ms  errors {run.errors}",
                flush=True,
            )
    return result
