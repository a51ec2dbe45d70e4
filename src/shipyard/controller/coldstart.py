"""Cold-start breakdown: where the time of every replica start went, phase by phase.

Layer: ``shipyard.controller`` (pure bookkeeping; the caller passes the clock's readings).
``Admission`` marks when a slot first wanted a replica (``want``), when its environment was
ready (``environment_ready``: at once when it was already built, i.e. reused), when it found
room (``admitted``) and when the backend's start returned (``spawned``: process spawn or
fork from the pre-imported parent); ``Replicas`` marks the first readiness (``ready``). The
phases, in order, sum to the wall time from the first want to the first readiness:

- ``environment``: waiting for the component's environment to resolve or build;
- ``capacity``: waiting for room on the node (requests against what is left);
- ``spawn``: the backend starting the process (or forking it from the zygote);
- ``imports`` and ``model_load``: what the runtime reports of its own load (running the
  script, building the model object), when it reports them (0 otherwise);
- ``startup``: the rest, from the process running to its first ready answer (interpreter
  and runtime start, and the readiness probe; all of the load when the runtime reported none).

Bounded: ``RECENT`` finished starts per component, ``MAX_PENDING`` starts under way; the
phase histograms (``histogram``) are cumulative counts for ``/metrics``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

PHASES = ("environment", "capacity", "spawn", "imports", "model_load", "startup")
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
RECENT = 50
MAX_PENDING = 10_000

SlotKey = tuple[str, str, int]  # deployment id, component, slot


@dataclass
class _Pending:
    wanted: float
    environment_ready: float | None = None
    admitted: float | None = None
    spawned: float | None = None
    reused_environment: bool = False


@dataclass(frozen=True)
class ColdStart:
    """One finished start: its replica, when it became ready (wall), and its phases."""

    replica_id: str
    component: str
    ready_at: float  # seconds since the epoch
    phases: tuple[tuple[str, float], ...]  # (phase, seconds), in ``PHASES`` order
    reused_environment: bool
    runtime_reported: bool = False  # imports and model_load come from the runtime itself

    @property
    def total_s(self) -> float:
        return sum(seconds for _, seconds in self.phases)


@dataclass
class PhaseHistogram:
    """Cumulative counts of one phase's durations over ``BUCKETS`` (for Prometheus)."""

    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: int = 0
    sum_s: float = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
        self.total += 1
        self.sum_s += seconds


class ColdStarts:
    """The starts under way and the recent finished ones, per deployment and component."""

    def __init__(self) -> None:
        self._pending: dict[SlotKey, _Pending] = {}
        self._running: dict[str, tuple[SlotKey, _Pending]] = {}
        self._recent: dict[tuple[str, str], deque[ColdStart]] = {}
        self.histogram: dict[str, PhaseHistogram] = {p: PhaseHistogram() for p in PHASES}

    def want(self, key: SlotKey, now: float) -> None:
        """The plan asks for a replica in this slot (the first ask starts the clock)."""
        if key not in self._pending and len(self._pending) < MAX_PENDING:
            self._pending[key] = _Pending(wanted=now)

    def environment_ready(self, key: SlotKey, now: float) -> None:
        """Its environment is ready (the first time seen: at once when it was reused)."""
        pending = self._pending.get(key)
        if pending is not None and pending.environment_ready is None:
            pending.environment_ready = now
            pending.reused_environment = now == pending.wanted

    def admitted(self, key: SlotKey, now: float) -> None:
        pending = self._pending.get(key)
        if pending is not None and pending.admitted is None:
            pending.admitted = now

    def spawned(self, key: SlotKey, replica_id: str, now: float) -> None:
        """The backend started it as ``replica_id``."""
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending.spawned = now
            self._running[replica_id] = (key, pending)

    def failed(self, key: SlotKey) -> None:
        """The start failed: the next attempt starts a new clock."""
        self._pending.pop(key, None)

    def gone(self, replica_id: str) -> None:
        """It exited or was stopped before its first readiness."""
        self._running.pop(replica_id, None)

    def ready(
        self,
        replica_id: str,
        now: float,
        wall: float,
        reported: Mapping[str, float] | None = None,
    ) -> ColdStart | None:
        """Its first readiness: the start is finished and recorded (``reported``: the
        runtime's own ``imports`` and ``model_load`` seconds, carved out of the load)."""
        found = self._running.pop(replica_id, None)
        if found is None:
            return None
        (deployment_id, component, _), p = found
        env = p.environment_ready if p.environment_ready is not None else p.wanted
        admitted = p.admitted if p.admitted is not None else env
        spawned = p.spawned if p.spawned is not None else admitted
        marks = (p.wanted, env, admitted, spawned)
        waits = [max(0.0, marks[i + 1] - marks[i]) for i in range(3)]
        load = max(0.0, now - spawned)
        reported = reported or {}
        imports = min(max(0.0, reported.get("imports", 0.0)), load)
        model_load = min(max(0.0, reported.get("model_load", 0.0)), load - imports)
        spent = [*waits, imports, model_load, load - imports - model_load]
        phases = tuple(zip(PHASES, spent, strict=True))
        start = ColdStart(replica_id, component, wall, phases, p.reused_environment, bool(reported))
        recent = self._recent.setdefault((deployment_id, component), deque(maxlen=RECENT))
        recent.append(start)
        for name, seconds in phases:
            self.histogram[name].observe(seconds)
        return start

    def recent(self, deployment_id: str) -> dict[str, list[ColdStart]]:
        """The recent finished starts of each component, oldest first."""
        return {
            component: list(starts)
            for (dep, component), starts in self._recent.items()
            if dep == deployment_id
        }

    def forget(self, deployment_id: str) -> None:
        for key in [k for k in self._recent if k[0] == deployment_id]:
            del self._recent[key]
        for slot in [k for k in self._pending if k[0] == deployment_id]:
            del self._pending[slot]
        for rid in [r for r, (k, _) in self._running.items() if k[0] == deployment_id]:
            del self._running[rid]
