"""Shipyard's start-up figures, timed through the SDK and the gateway as a user sees them.

- **Deploy to first prediction**: from ``predictor.deploy(...)`` to the first 2xx through the
  gateway. Timed a few times with ``await_update=None`` and a prediction polled every 20 ms
  (each deployment deleted afterwards), then with the SDK waiting until RUNNING.
- **First response from zero instances**: a deployment with ``num_instances=0`` and a short
  scale-to-zero retention; once it is IDLE with no replica left, one prediction is timed (the
  gateway holds it while a replica starts). Repeated a few times.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import payloads
from bench.load import Request
from bench.procs import Launched
from bench.target import TargetFailed, first_prediction

REPEATS = 3
POLL_S = 0.02
ZERO_RETENTION_S = 2.0
"""Seconds without traffic before the cold-start deployment goes back to zero."""


@dataclass(frozen=True)
class DeployTiming:
    """One deployment, timed from the SDK call (seconds)."""

    name: str
    waited: bool
    """Whether ``deploy()`` waited until RUNNING (the README's flow)."""
    deploy_returned_s: float
    first_prediction_s: float


@dataclass(frozen=True)
class ColdStart:
    """One request sent to a deployment at zero instances."""

    status: int
    seconds: float


def replicas_of(home: Path, name: str) -> list[Path]:
    """The handle files of the running replicas of deployment ``name``."""
    return list((home / "run" / "replicas").glob(f"{name}-*.json"))


def _wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TargetFailed(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def deploy(
    predictor: Any, auth: str, proc: Launched, log: Path, *, wait: bool
) -> tuple[Any, DeployTiming]:
    """Deploy ``predictor`` and time it until the first 2xx prediction through the gateway."""
    started = time.monotonic()
    deployment = predictor.deploy(await_update=600 if wait else None)
    returned = time.monotonic()
    if not deployment.endpoints.get("v1"):
        deployment.refresh()
    request = Request(deployment.endpoints["v1"], payloads.v1_body(), auth)
    answered = first_prediction(request, proc=proc, log=log, timeout_s=120, interval_s=POLL_S)
    timing = DeployTiming(predictor.name, wait, returned - started, answered - started)
    return deployment, timing


def deploy_trials(
    make_predictor: Any, home: Path, auth: str, proc: Launched, log: Path
) -> list[DeployTiming]:
    """``REPEATS`` polled deployments, each deleted (and its replicas gone) after its timing."""
    timings = []
    for i in range(REPEATS):
        name = f"trial-{i}"
        deployment, timing = deploy(make_predictor(name), auth, proc, log, wait=False)
        timings.append(timing)
        deployment.delete()
        _wait_until(lambda n=name: not replicas_of(home, n), 30, f"{name} to stop")
    return timings


def cold_starts(predictor: Any, home: Path, auth: str) -> list[ColdStart]:
    """Deploy ``predictor`` (0 instances) and time ``REPEATS`` requests sent to it at zero."""
    deployment = predictor.deploy(await_update=120)
    name = predictor.name
    request = Request(deployment.endpoints["v1"], payloads.v1_body(), auth)
    headers = {"content-type": "application/json", "authorization": auth}
    results = []
    with httpx.Client(timeout=90.0, trust_env=False) as client:
        for _ in range(REPEATS):
            _wait_until(lambda: not replicas_of(home, name), 120, f"{name} to scale to zero")
            _wait_until(
                lambda: str(deployment.refresh().status.state) == "IDLE", 60, f"{name} IDLE"
            )
            started = time.monotonic()
            answer = client.post(request.url, content=request.body, headers=headers)
            results.append(ColdStart(answer.status_code, time.monotonic() - started))
    deployment.delete()
    _wait_until(lambda: not replicas_of(home, name), 30, f"{name} to stop")
    return results


def summary(timings: list[DeployTiming], zero: list[ColdStart]) -> dict[str, Any]:
    """What the report needs, JSON-ready."""
    polled = [t.first_prediction_s for t in timings if not t.waited]
    waited = [t.first_prediction_s for t in timings if t.waited]
    ok = [c.seconds for c in zero if 200 <= c.status < 300]
    return {
        "runs": [asdict(t) for t in timings],
        "polled_median_s": statistics.median(polled) if polled else None,
        "sdk_wait_s": waited[0] if waited else None,
        "cold_starts": [asdict(c) for c in zero],
        "cold_start_median_s": statistics.median(ok) if ok and len(ok) == len(zero) else None,
    }


DEPLOY_TABLE_HEAD = [
    "| deployment | mode | deploy() returned after | first 2xx prediction after |",
    "|---|---|---:|---:|",
]


def deploy_table(runs: list[dict[str, Any]]) -> list[str]:
    """RESULTS.md table of deploy timings (``summary()['runs']``), head included."""
    lines = list(DEPLOY_TABLE_HEAD)
    for run in runs:
        mode = "SDK wait" if run["waited"] else "polled"
        lines.append(
            f"| {run['name']} | {mode} | {run['deploy_returned_s']:.2f} s "
            f"| {run['first_prediction_s']:.2f} s |"
        )
    return lines
