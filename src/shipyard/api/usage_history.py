"""Usage history per replica: CPU and memory samples at a fixed interval, with events marked.

The API layer's memory of what the controller measured. ``UsageHistory.record`` takes the
controller's public status snapshot (``Controller.snapshot()``: project id, deployment name and
last ``DeploymentStatus`` of every deployment) and appends one sample per live replica; it marks
OOM kills, restarts and scale changes as events. ``sample_forever`` is the task the composition
root (``shipyard.server``) runs to feed it; the routes in ``api.routes.usage`` read it.

Bounded: every sample of the last ``retention_s`` (an hour) per replica, and beyond it one
min/mean/max bucket per ``BUCKET_S`` (``api.usage_buckets``) for ``history_s`` (a day);
``MAX_REPLICAS`` replicas and ``MAX_EVENTS`` events per deployment, ``MAX_DEPLOYMENTS``
deployments; replicas and deployments not seen for ``history_s`` are forgotten. What is
recorded is also queued (``drain``, at most ``MAX_PENDING`` items) for ``api.usage_persistence``
to write to the store in batches, and ``restore`` reloads it after a server restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from shipyard.api.usage_buckets import BUCKET_S, BucketBuilder, UsageBucket, UsageSample
from shipyard.spec.resources import Resources
from shipyard.spec.status import DeploymentStatus, ReplicaPhase, ReplicaStatus

log = logging.getLogger("shipyard.api.usage")

Snapshot = Iterable[tuple[str, str, DeploymentStatus]]
DEFAULT_INTERVAL_S = 2.0
DEFAULT_RETENTION_S = 3600.0
DEFAULT_HISTORY_S = 86400.0
MAX_PENDING = 100_000  # samples, buckets and events waiting to be written to the store
MAX_EVENTS = 500
MAX_DEPLOYMENTS = 2000
MAX_REPLICAS = 200  # series kept per deployment (a crash loop makes a new replica id per start)


__all__ = ["UsageBucket", "UsageHistory", "UsageSample", "sample_forever"]


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
    buckets: deque[UsageBucket] = field(default_factory=deque)
    builder: BucketBuilder = field(default_factory=BucketBuilder)


@dataclass(frozen=True)
class Recorded:
    """One sample or closed bucket of one replica, queued for the store."""

    project_id: str
    deployment: str
    replica: str
    component: str
    slot: int
    restarts: int
    requests: Resources | None
    limits: Resources | None
    point: UsageSample | UsageBucket


@dataclass(frozen=True)
class RecordedEvent:
    """One event of one deployment, queued for the store."""

    project_id: str
    deployment: str
    event: UsageEvent


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
    """Every sample of the last ``retention_s`` seconds and buckets for ``history_s``, per
    replica, sampled every ``interval_s``; events for ``history_s``."""

    def __init__(
        self,
        interval_s: float = DEFAULT_INTERVAL_S,
        retention_s: float = DEFAULT_RETENTION_S,
        history_s: float | None = None,
    ) -> None:
        history_s = max(DEFAULT_HISTORY_S, retention_s) if history_s is None else history_s
        if interval_s <= 0 or retention_s < interval_s or history_s < retention_s:
            raise ValueError("need 0 < interval_s <= retention_s <= history_s")
        self.interval_s = interval_s
        self.retention_s = retention_s
        self.history_s = history_s
        self.bucket_s = BUCKET_S
        self._per_replica = int(retention_s / interval_s) + 1
        self._buckets_per_replica = int(history_s / BUCKET_S) + 1
        self._deployments: dict[tuple[str, str], DeploymentSeries] = {}
        self._pending: deque[Recorded | RecordedEvent] = deque(maxlen=MAX_PENDING)

    def record(self, at: float, snapshot: Snapshot) -> None:
        """Add one sample per replica of every deployment in ``snapshot``, taken at ``at``."""
        for project_id, name, status in snapshot:
            series = self._series(project_id, name)
            if series is not None:
                self._record_deployment((project_id, name), series, at, status)
        self._forget_older_than(at - self.history_s)

    def drain(self) -> list[Recorded | RecordedEvent]:
        """What was recorded since the last call (oldest first), for the store."""
        out = list(self._pending)
        self._pending.clear()
        return out

    def _series(self, project_id: str, name: str) -> DeploymentSeries | None:
        key = (project_id, name)
        series = self._deployments.get(key)
        if series is None:
            if len(self._deployments) >= MAX_DEPLOYMENTS:
                return None
            series = self._deployments[key] = DeploymentSeries()
        return series

    def _event(self, key: tuple[str, str], series: DeploymentSeries, event: UsageEvent) -> None:
        series.events.append(event)
        self._pending.append(RecordedEvent(key[0], key[1], event))

    def _record_deployment(
        self, key: tuple[str, str], series: DeploymentSeries, at: float, status: DeploymentStatus
    ) -> None:
        first = not series.last_seen
        series.last_seen = at
        for known in series.replicas.values():
            known.live = False
        instances: dict[str, int] = {}
        for replica in status.replicas:
            if _live(replica):
                instances[replica.component] = instances.get(replica.component, 0) + 1
            self._record_replica(key, series, at, replica)
        for component in sorted(set(instances) | set(series.instances)):
            before, now = series.instances.get(component, 0), instances.get(component, 0)
            if before != now and not first:
                message = f"{component}: {before} -> {now} instance{'s' * (now != 1)}"
                self._event(key, series, UsageEvent(at, "scale", component, "", message))
        series.instances = instances

    def _known(self, series: DeploymentSeries, replica: ReplicaStatus) -> ReplicaSeries:
        known = series.replicas.get(replica.id)
        if known is None:
            if len(series.replicas) >= MAX_REPLICAS:
                self._drop_oldest_gone(series)
            known = series.replicas[replica.id] = self._new_series(
                replica.id, replica.component, replica.slot
            )
        return known

    def _new_series(self, rid: str, component: str, slot: int) -> ReplicaSeries:
        return ReplicaSeries(
            rid,
            component,
            deque(maxlen=self._per_replica),
            slot,
            buckets=deque(maxlen=self._buckets_per_replica),
        )

    def _record_replica(
        self, key: tuple[str, str], series: DeploymentSeries, at: float, replica: ReplicaStatus
    ) -> None:
        known = self._known(series, replica)
        slot = (replica.component, replica.slot)
        before = series.slot_restarts.get(slot)
        if before is not None and replica.restarts > before:
            message = f"restarted ({replica.restarts} restart{'s' * (replica.restarts != 1)})"
            event = UsageEvent(at, "restart", replica.component, replica.id, message, replica.slot)
            self._event(key, series, event)
        series.slot_restarts[slot] = max(replica.restarts, before or 0)
        known.restarts = replica.restarts
        known.last_seen = at
        known.live = _live(replica)
        self._mark_exit(key, series, known, replica)
        usage = replica.usage
        if usage is not None:
            known.requests, known.limits = usage.requests, usage.limits
        if _live(replica) and usage is not None:
            sample = UsageSample(
                at, usage.cpu_cores, usage.memory_mb, usage.memory_peak_mb, usage.cpu_throttled
            )
            self._add_sample(key, known, sample)

    def _add_sample(self, key: tuple[str, str], known: ReplicaSeries, sample: UsageSample) -> None:
        known.samples.append(sample)
        while known.samples[0].at < sample.at - self.retention_s:
            known.samples.popleft()  # older than the retention: its bucket keeps it
        self._pending.append(self._recorded(key, known, sample))
        closed = known.builder.add(sample)
        if closed is not None:
            known.buckets.append(closed)
            self._pending.append(self._recorded(key, known, closed))

    @staticmethod
    def _recorded(
        key: tuple[str, str], known: ReplicaSeries, point: UsageSample | UsageBucket
    ) -> Recorded:
        return Recorded(
            key[0], key[1], known.replica, known.component, known.slot, known.restarts,
            known.requests, known.limits, point,
        )  # fmt: skip

    @staticmethod
    def _drop_oldest_gone(series: DeploymentSeries) -> None:
        """Forget the replica seen longest ago (live ones last) to make room for a new one."""
        oldest = min(series.replicas.values(), key=lambda r: (r.live, r.last_seen))
        del series.replicas[oldest.replica]

    def _mark_exit(
        self,
        key: tuple[str, str],
        series: DeploymentSeries,
        known: ReplicaSeries,
        replica: ReplicaStatus,
    ) -> None:
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
        self._event(key, series, event)

    def _forget_older_than(self, cutoff: float) -> None:
        for key in [k for k, s in self._deployments.items() if s.last_seen < cutoff]:
            del self._deployments[key]
        for series in self._deployments.values():
            for rid in [r for r, s in series.replicas.items() if s.last_seen < cutoff]:
                del series.replicas[rid]

    def restore(self, points: Iterable[Recorded], events: Iterable[RecordedEvent]) -> None:
        """Reload what the store kept (oldest first) into an empty history, after a restart.

        Replicas restored are not live until a sample shows them; nothing is queued again."""
        for item in points:
            series = self._series(item.project_id, item.deployment)
            if series is None:
                continue
            known = series.replicas.get(item.replica)
            if known is None:
                known = self._new_series(item.replica, item.component, item.slot)
                series.replicas[item.replica] = known
            known.restarts, known.requests, known.limits = item.restarts, item.requests, item.limits
            point = item.point
            if isinstance(point, UsageBucket):
                known.buckets.append(point)
                known.last_seen = max(known.last_seen, point.at + point.span_s)
            else:
                known.samples.append(point)
                known.builder.add(point)
                while known.samples[0].at < point.at - self.retention_s:
                    known.samples.popleft()
                known.last_seen = max(known.last_seen, point.at)
            slot = (item.component, item.slot)
            series.slot_restarts[slot] = max(series.slot_restarts.get(slot, 0), item.restarts)
            series.last_seen = max(series.last_seen, known.last_seen)
        for recorded in events:
            series = self._series(recorded.project_id, recorded.deployment)
            if series is not None:
                series.events.append(recorded.event)
                if recorded.event.kind == "oom" and recorded.event.slot is not None:
                    slot = (recorded.event.component, recorded.event.slot)
                    series.slot_oom_at[slot] = recorded.event.at

    def query(
        self, project_id: str, name: str, since: float, until: float = float("inf")
    ) -> tuple[list[ReplicaSeries], list[UsageEvent]]:
        """Replicas seen in ``[since, until]`` (per component and slot, in the order they were
        first seen), each with its samples in that range and the buckets before its oldest
        sample kept, and the events in the range, oldest first."""
        series = self._deployments.get((project_id, name))
        if series is None:
            return [], []
        replicas = [
            _window(r, since, until)
            for r in sorted(series.replicas.values(), key=_chronological)
            if r.last_seen >= since and _first_seen(r) <= until
        ]
        events = sorted((e for e in series.events if since <= e.at <= until), key=lambda e: e.at)
        return replicas, events


def _chronological(r: ReplicaSeries) -> tuple[str, int, float, str]:
    return r.component, r.slot, _first_seen(r), r.replica


def _first_seen(r: ReplicaSeries) -> float:
    firsts = [d[0].at for d in (r.buckets, r.samples) if d]
    return min(firsts) if firsts else r.last_seen


def _window(r: ReplicaSeries, since: float, until: float) -> ReplicaSeries:
    """A copy of ``r`` with its samples in ``[since, until]`` and the buckets overlapping it
    that end before its oldest sample (full resolution wins where both exist)."""
    raw_from = r.samples[0].at if r.samples else float("inf")
    return ReplicaSeries(
        r.replica,
        r.component,
        deque(s for s in r.samples if since <= s.at <= until),
        r.slot,
        r.requests,
        r.limits,
        r.restarts,
        r.last_exit_at,
        r.last_seen,
        r.live,
        buckets=deque(
            b
            for b in r.buckets
            if b.at + b.span_s > since and b.at <= until and b.at + b.span_s <= raw_from
        ),
    )


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
