"""The cost of inference logging: the same load with logging off, to a JSONL file, to HTTP.

Issue 22's check: REST throughput with logging off is unchanged (that is the plain ``shipyard``
target of the sweep: no deployment there has a logger) and the cost with it on is stated. One
fresh Shipyard serves the model three times, deployments alike but for their
``InferenceLogger``: none; ``mode="ALL"`` to a JSONL file (``SHIPYARD_HOME/logs/inference/``);
``mode="ALL"`` to a local CloudEvents receiver (:mod:`bench.log_receiver`, its own process).
They take turns under the same wrk load (:mod:`bench.interleave`: rounds, the order reversed
each round), so each per-round ratio to "logging off" compares runs seconds apart. After the
runs: events the file holds, events the receiver got, and the gateway's own counts of delivered,
dropped and failed events (its Prometheus metrics), so a cheap run that dropped most events is
seen as such.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench import interleave
from bench.interleave import Interleaved
from bench.peers import QUIET_ENV
from bench.procs import launched
from bench.settings import LOOPBACK, MODEL_NAME, REPO, WORK, RunSettings
from bench.target import TargetFailed, free_port
from shipyard import InferenceLogger

OFF, FILE, HTTP = "logging off", "logging to a JSONL file", "logging to HTTP (CloudEvents)"
CONCURRENCIES = (1, 32)
FILE_NAME = "bench.jsonl"
_METRIC = re.compile(
    r'^shipyard_gateway_inference_log_events_total\{[^}]*deployment="(?P<d>[^"]+)"[^}]*'
    r'outcome="(?P<o>[^"]+)"[^}]*\} (?P<n>[0-9.e+]+)$',
    re.M,
)


@dataclass
class LoggingCost:
    """Per concurrency, the three deployments' turns; then what each sink got."""

    runs: list[Interleaved] = field(default_factory=list)
    file_events: int = 0
    """JSON lines in the file (and its rotated parts) after the runs."""
    received_events: int = 0
    """CloudEvents the local receiver answered."""
    gateway_counts: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per setting (``FILE``, ``HTTP``): the gateway's event counts by outcome."""


def _file_events(home: Path) -> int:
    folder = home / "logs" / "inference"
    return sum(
        sum(1 for _ in path.open("rb")) for path in folder.glob(f"{FILE_NAME}*") if path.is_file()
    )


def _gateway_counts(home: Path, url: str, names: dict[str, str]) -> dict[str, dict[str, float]]:
    token = (home / "run" / "internal-token").read_text().strip()
    parts = urlsplit(url)
    answer = httpx.get(
        f"{parts.scheme}://{parts.netloc}/metrics",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )
    counts: dict[str, dict[str, float]] = {}
    for match in _METRIC.finditer(answer.text):
        label = names.get(match["d"])
        if label is not None:
            outcome = counts.setdefault(label, {})
            outcome[match["o"]] = outcome.get(match["o"], 0.0) + float(match["n"])
    return counts


def _received(port: int) -> int:
    answer = httpx.get(f"http://{LOOPBACK}:{port}/count", timeout=10, trust_env=False)
    return int(answer.json()["events"])


@contextlib.contextmanager
def _receiver() -> Iterator[int]:
    port = free_port()
    log = WORK / "logs" / "log-receiver.log"
    command = [sys.executable, "-m", "bench.log_receiver", str(port)]
    env = {**os.environ, **QUIET_ENV}
    with launched("log-receiver", command, env=env, log=log, cwd=REPO):
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                _received(port)
                break
            if time.monotonic() > deadline:
                raise TargetFailed("the inference-log receiver did not start")
            time.sleep(0.1)
        yield port


def measure(model_file: Path, s: RunSettings) -> LoggingCost | None:
    """Start the receiver and one Shipyard, let the three deployments take turns."""
    from bench import shipyard_target

    run_s, warmup_s, rounds = (2.0, 1.0, 3) if s.quick else (8.0, 3.0, interleave.ROUNDS)
    result = LoggingCost()
    try:
        with _receiver() as port:
            loggers = {
                OFF: None,
                FILE: InferenceLogger(mode="ALL", file=FILE_NAME),
                HTTP: InferenceLogger(mode="ALL", url=f"http://{LOOPBACK}:{port}/"),
            }
            with shipyard_target.start_logged(model_file, loggers, timeout_s=s.start_timeout_s) as (
                home,
                started,
            ):
                for concurrency in CONCURRENCIES:
                    result.runs.append(
                        interleave.measure(
                            started,
                            concurrency=concurrency,
                            run_s=run_s,
                            warmup_s=warmup_s,
                            threads=s.wrk_threads,
                            rounds=rounds,
                        )
                    )
                time.sleep(2.0)  # let the queues drain before counting
                names = {f"{MODEL_NAME}-{i}": label for i, label in enumerate(loggers)}
                url = started[0].endpoints[0].request.url
                result.gateway_counts = _gateway_counts(home, url, names)
                result.file_events = _file_events(home)
                result.received_events = _received(port)
    except (TargetFailed, RuntimeError, OSError, httpx.HTTPError) as exc:
        print(f"   inference logging cost skipped: {exc}", flush=True)
        return None
    return result


def _ratio(run: Interleaved, label: str, figure: str) -> str:
    ratios = run.ratios(label, OFF, figure)
    return f"{statistics.median(ratios):.2f}x" if ratios else "-"


def report_lines(cost: LoggingCost | None) -> list[str]:
    """The RESULTS.md section (empty when it was not measured)."""
    if cost is None:
        return []
    lines = [
        "## Inference logging: cost (issue 22)",
        "",
        'One Shipyard, three deployments alike but for their `InferenceLogger` (`mode="ALL"`: '
        "request and response events), taking turns under the same wrk V1 load (median of "
        "rounds; ratio = median of per-round ratios to *logging off*). *Logging off* is the "
        "normal Shipyard target of the sweep above.",
        "",
        "| setting | concurrency | req/s | p50 ms | p99 ms | req/s vs off | p50 vs off | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in cost.runs:
        for label in (OFF, FILE, HTTP):
            rps, p50 = run.median(label, "rps"), run.median(label, "p50_ms")
            p99 = run.median(label, "p99_ms")
            if rps is None or p50 is None or p99 is None:
                continue
            vs = ("1.00x", "1.00x") if label == OFF else (
                _ratio(run, label, "rps"), _ratio(run, label, "p50_ms"))  # fmt: skip
            lines.append(
                f"| {label} | {run.concurrency} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {vs[0]} | "
                f"{vs[1]} | {run.errors(label)} |"
            )
    lines += ["", "Events after the runs (the gateway's counts by outcome):", ""]
    for label in (FILE, HTTP):
        counts = cost.gateway_counts.get(label, {})
        shown = ", ".join(f"{k} {v:.0f}" for k, v in sorted(counts.items())) or "none counted"
        got = cost.file_events if label == FILE else cost.received_events
        where = "lines in the file" if label == FILE else "events at the receiver"
        lines.append(f"- {label}: {shown}; {got} {where}")
    lines.append("")
    return lines
