"""What a started target (Shipyard or a peer) offers the measurements, and how to wait for it.

A target is started by :mod:`bench.shipyard_target` or :mod:`bench.peers` as a context manager
yielding :class:`Started`; leaving the context stops every process it started.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.load import Request
from bench.procs import Launched, ProcInfo, log_tail
from bench.settings import LOOPBACK

Classifier = Callable[[ProcInfo, bool], str]
"""The role of a process of the target's tree (``True`` for the root): "replica", "gateway"..."""


@dataclass(frozen=True)
class Endpoint:
    """One protocol of a target: what the load generator sends."""

    protocol: str
    """``v1`` (KServe V1) or ``v2`` (Open Inference Protocol V2)."""
    request: Request


@dataclass
class Started:
    """A target that answered its first prediction."""

    name: str
    proc: Launched
    endpoints: list[Endpoint]
    classify: Classifier
    worker_role: str
    """The role of the processes that run the model (compared with the bare process)."""
    python: Path
    """The interpreter of those processes (the bare process uses the same)."""
    start_to_first_s: float
    """Seconds from starting the root process to the first successful prediction."""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class TargetFailed(RuntimeError):
    """A target did not start or did not answer; the message holds the end of its log."""


def free_port() -> int:
    """A free TCP port on loopback."""
    with closing(socket.socket()) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def first_prediction(
    request: Request,
    *,
    proc: Launched | None,
    log: Path | None,
    timeout_s: float,
    interval_s: float = 0.05,
) -> float:
    """Send ``request`` until it is answered with a 2xx; returns the monotonic time of that answer.

    Raises:
        TargetFailed: ``proc`` exited, or no 2xx came within ``timeout_s``.
    """
    headers = {"content-type": "application/json"}
    if request.authorization:
        headers["authorization"] = request.authorization
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                raise TargetFailed(f"{proc.name} exited:\n{log_tail(log) if log else ''}")
            try:
                answer = client.post(request.url, content=request.body, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            else:
                if answer.is_success:
                    return time.monotonic()
                last = f"HTTP {answer.status_code}: {answer.text[:300]}"
            time.sleep(interval_s)
    tail = log_tail(log) if log else ""
    raise TargetFailed(f"no prediction from {request.url} in {timeout_s:g} s ({last})\n{tail}")
