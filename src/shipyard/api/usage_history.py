"""Usage history per replica: CPU and memory samples at a fixed interval, with events marked.

The API layer's memory of what the controller measured. ``UsageHistory.record`` takes the
controller's public status snapshot (``Controller.snapshot()``: project id, deployment name and
last ``DeploymentStatus`` of every deployment) and appends one sample per live replica; it marks
OOM kills, restarts and scale changes as events. ``sample_forever`` is the task the composition
root (``shipyard.server``) runs to feed it; the routes in ``api.routes.usage`` read it.

Bounded: at most ``retention_s / interval_s`` samples per replica, ``MAX_REPLICAS`` replicas and
``MAX_EVENTS`` events per deployment, ``MAX_DEPLOYMENTS`` deployments; replicas and deployments
not seen for ``retention_s`` are forgotten. Kept in memory
only (it starts empty after a server restart).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from shipyard.spec.resources import Resources
from shipyard.spec.status import DeploymentStatus, ReplicaPhase, ReplicaStatus

log = logging.getLogger("shipyard.api.usage")

Snapshot = Iterable[tuple[str, str, DeploymentStatus]]
DEFAULT_INTERVAL_S = 2.0
DEFAULT_RETENTION_S = 3600.0
MAX_EVENTS = 500
MAX_DEPLOYMENTS = 2000
MAX_REPLICAS = 200  # series kept per deployment (a crash loop makes a new replica id per start)


@dataclass(frozen=True)
class UsageSample:
    """One measurement of one replica; ``at`` in seconds since the epoch, cores, MiB."""

    at: float
    cpu_cores: float | None
    memory_mb: float | None
    memory_peak_mb: float | None


@dataclass(frozen=True)
class UsageEvent:
    """Something that happened to a replica or component: ``oom``, ``restart`` or ``scale``."""

    at: float
    kind: str
    component: str
    replica: str
    message: str
    slot: int | None = None  # the instance slot (a restarted replica keeps its slot)


@dataclass
class ReplicaSeries:
    """The samples of one replica, oldest first, and what it last requested and may use."""

    replica: str
    component: str
    samples: deque[UsageSample]
    slot: int = 0
    requests: Resources | None = None
    limits: Resources | None = None
    restarts: int = 0
    last_exit_at: float | None = None
    last_seen: float = 0.0
    live: bool = False  # running at the latest sample (not exited, still in the status)


@dataclass
class DeploymentSeries:
    """Every replica's series of one deployment, its events and its instances per component."""

    replicas: dict[str, ReplicaSeries] = field(default_factory=dict)
    events: deque[UsageEvent] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    instances: dict[str, int] = field(default_factory=dict)
    last_seen: float = 0.0
    # per (component, slot): restarts and the last OOM kill's time seen; a restarted replica
    # may come back under a new id, so events are told apart by slot, not by replica id
    slot_restarts: dict[tuple[str, int], int] = field(default_factory=dict)
    slot_oom_at: dict[tuple[str, int], float] = field(default_factory=dict)


def _live(replica: ReplicaStatus) -> bool:
    return replica.phase is not ReplicaPhase.EXITED


class UsageHistory:
    """The last ``retention_s`` seconds of usage of every replica, sampled every ``interval_s``."""

    def __init__(
        self, interval_s: float = DEFAULT_INTERVAL_S, retention_s: float = DEFAULT_RETENTION_S
    ) -> None:
        if interval_s <= 0 or retention_s < interval_s:
            raise ValueError("need 0 < interval_s <= retention_s")
        self.interval_s = interval_s
        self.retention_s = retention_s
        self._per_replica = int(retention_s / interval_s) + 1
        self._deployments: dict[tuple[str, str], DeploymentSeries] = {}

    def record(self, at: float, snapshot: Snapshot) -> None:
        """Add one sample per replica of every deployment in ``snapshot``, taken at ``at``."""
        for project_id, name, status in snapshot:
            key = (project_id, name)
            series = self._deployments.get(key)
            if series is None:
                if len(self._deployments) >= MAX_DEPLOYMENTS:
                    continue
                series = self._deployments[key] = DeploymentSeries()
            self._record_deployment(series, at, status)
        self._forget_older_than(at - self.retention_s)

    def _record_deployment(
        self, series: DeploymentSeries, at: float, status: DeploymentStatus
    ) -> None:
        first = not series.last_seen
        series.last_seen = at
        for known in series.replicas.values():
            known.live = False
        instances: dict[str, int] = {}
        for replica in status.replicas:
            if _live(replica):
                instances[replica.component] = instances.get(replica.component, 0) + 1
            self._record_replica(series, at, replica)
        for component in sorted(set(instances) | set(series.instances)):
            before, now = series.instances.get(component, 0), instances.get(component, 0)
            if before != now and not first:
                message = f"{component}: {before} -> {now} instance{'s' * (now != 1)}"
                series.events.append(UsageEvent(at, "scale", component, "", message))
        series.instances = instances

    def _record_replica(self, series: DeploymentSeries, at: float, replica: ReplicaStatus) -> None:
        known = series.replicas.get(replica.id)
        if known is None:
            if len(series.replicas) >= MAX_REPLICAS:
                self._drop_oldest_gone(series)
            known = series.replicas[replica.id] = ReplicaSeries(
                replica.id, replica.component, deque(maxlen=self._per_replica), replica.slot
            )
        slot = (replica.component, replica.slot)
        before = series.slot_restarts.get(slot)
        if before is not None and replica.restarts > before:
            message = f"restarted ({replica.restarts} restart{'s' * (replica.restarts != 1)})"
            event = UsageEvent(at, "restart", replica.component, replica.id, message, replica.slot)
            series.events.append(event)
        series.slot_restarts[slot] = max(replica.restarts, before or 0)
        known.restarts = replica.restarts
        known.last_seen = at
        known.live = _live(replica)
        self._mark_exit(series, known, replica)
        usage = replica.usage
        if usage is not None:
            known.requests, known.limits = usage.requests, usage.limits
        if _live(replica) and usage is not None:
            known.samples.append(
                UsageSample(at, usage.cpu_cores, usage.memory_mb, usage.memory_peak_mb)
            )

    @staticmethod
    def _drop_oldest_gone(series: DeploymentSeries) -> None:
        """Forget the replica seen longest ago (live ones last) to make room for a new one."""
        oldest = min(series.replicas.values(), key=lambda r: (r.live, r.last_seen))
        del series.replicas[oldest.replica]

    @staticmethod
    def _mark_exit(series: DeploymentSeries, known: ReplicaSeries, replica: ReplicaStatus) -> None:
        exit_ = replica.last_exit
        if exit_ is None or exit_.at is None or exit_.reason != "OOMKilled":
            return
        at = exit_.at.timestamp()
        slot = (replica.component, replica.slot)
        seen = series.slot_oom_at.get(slot)
        if seen is not None and at <= seen:
            return
        series.slot_oom_at[slot] = at
        known.last_exit_at = at
        message = f"OOMKilled: {exit_.message}" if exit_.message else "OOMKilled"
        event = UsageEvent(at, "oom", replica.component, replica.id, message, replica.slot)
        series.events.append(event)

    def _forget_older_than(self, cutoff: float) -> None:
        for key in [k for k, s in self._deployments.items() if s.last_seen < cutoff]:
            del self._deployments[key]
        for series in self._deployments.values():
            for rid in [r for r, s in series.replicas.items() if s.last_seen < cutoff]:
                del series.replicas[rid]

    def query(
        self, project_id: str, name: str, since: float
    ) -> tuple[list[ReplicaSeries], list[UsageEvent]]:
        """Replicas (each with its samples from ``since`` on, oldest first) and the events since,
        oldest first."""
        series = self._deployments.get((project_id, name))
        if series is None:
            return [], []
        replicas = [
            ReplicaSeries(
                r.replica,
                r.component,
                deque(s for s in r.samples if s.at >= since),
                r.slot,
                r.requests,
                r.limits,
                r.restarts,
                r.last_exit_at,
                r.last_seen,
                r.live,
            )
            for r in sorted(series.replicas.values(), key=lambda r: (r.component, r.replica))
            if r.last_seen >= since
        ]
        return replicas, sorted((e for e in series.events if e.at >= since), key=lambda e: e.at)


async def sample_forever(
    history: UsageHistory,
    snapshot: Callable[[], Snapshot],
    clock: Callable[[], float] = time.time,
) -> None:
    """Record ``snapshot()`` into ``history`` every ``history.interval_s`` until cancelled."""
    while True:
        try:
            history.record(clock(), snapshot())
        except Exception:  # a bad snapshot must not end the history
            log.exception("usage sampling failed")
        await asyncio.sleep(history.interval_s)
