"""The usage history's rows: samples, downsampled buckets and events, written in batches.

Layer: ``shipyard.store``. ``api.usage_persistence`` turns what ``api.usage_history`` recorded
into ``StoredUsagePoint`` / ``StoredUsageEvent`` and calls ``add_usage`` every few seconds (one
transaction per batch), ``load_usage`` once at start to restore the history after a restart,
and ``prune_usage`` to drop what is older than the history keeps. A sample is a point with
``span_s == 0`` and ``count == 1``; a bucket summarises ``count`` samples over ``span_s``.
Rows name their deployment by project id and name, like the history (no foreign key: the
history of a deleted deployment ages out with the rest).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from shipyard.spec.resources import Resources
from shipyard.store.session import StoreBase
from shipyard.store.tables import UsageEventRow, UsagePoint

Triple = tuple[float, float, float]  # min, mean, max


@dataclass(frozen=True)
class StoredUsagePoint:
    """One sample (``span_s`` 0) or bucket of one replica, as the store keeps it."""

    project_id: str
    deployment: str
    component: str
    replica: str
    slot: int
    restarts: int
    at: float
    span_s: float
    count: int
    cpu: Triple | None
    memory: Triple | None
    memory_peak: float | None
    requests: Resources | None
    limits: Resources | None
    cpu_throttled: float | None = None  # share of CPU periods throttled (bucket: the mean)


@dataclass(frozen=True)
class StoredUsageEvent:
    """One OOM kill, restart or scale change, as the store keeps it."""

    project_id: str
    deployment: str
    at: float
    kind: str
    component: str
    replica: str
    slot: int | None
    message: str


def _triple(value: list[float] | None) -> Triple | None:
    if value is None or len(value) != 3:
        return None
    return (float(value[0]), float(value[1]), float(value[2]))


def _resources(value: object) -> Resources | None:
    return Resources.model_validate(value) if isinstance(value, dict) else None


def _point_row(p: StoredUsagePoint) -> UsagePoint:
    resources = {
        key: res.model_dump(mode="json")
        for key, res in (("requests", p.requests), ("limits", p.limits))
        if res is not None
    }
    return UsagePoint(
        project_id=p.project_id, deployment=p.deployment, component=p.component,
        replica=p.replica, slot=p.slot, restarts=p.restarts, at=p.at, span_s=p.span_s,
        count=p.count, cpu=list(p.cpu) if p.cpu else None,
        memory=list(p.memory) if p.memory else None, memory_peak=p.memory_peak,
        resources=resources or None, cpu_throttled=p.cpu_throttled,
    )  # fmt: skip


def _point(row: UsagePoint) -> StoredUsagePoint:
    resources = row.resources or {}
    return StoredUsagePoint(
        row.project_id, row.deployment, row.component, row.replica, row.slot, row.restarts,
        row.at, row.span_s, row.count, _triple(row.cpu), _triple(row.memory), row.memory_peak,
        _resources(resources.get("requests")), _resources(resources.get("limits")),
        row.cpu_throttled,
    )  # fmt: skip


class UsageStore(StoreBase):
    """Usage samples, buckets and events (see the module docstring)."""

    def add_usage(
        self, points: Iterable[StoredUsagePoint], events: Iterable[StoredUsageEvent]
    ) -> None:
        """Write a batch of points and events in one transaction."""
        with self._write() as session:
            session.add_all([_point_row(p) for p in points])
            session.add_all(
                [
                    UsageEventRow(
                        project_id=e.project_id,
                        deployment=e.deployment,
                        at=e.at,
                        kind=e.kind,
                        component=e.component,
                        replica=e.replica,
                        slot=e.slot,
                        message=e.message,
                    )
                    for e in events
                ]
            )

    def load_usage(
        self, samples_since: float, since: float
    ) -> tuple[list[StoredUsagePoint], list[StoredUsageEvent]]:
        """Samples taken from ``samples_since`` on, buckets and events from ``since`` on,
        each oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(UsagePoint)
                .where(UsagePoint.at >= since)
                .where((UsagePoint.span_s > 0) | (UsagePoint.at >= samples_since))
                .order_by(UsagePoint.at, UsagePoint.id)
            ).all()
            events = session.scalars(
                select(UsageEventRow)
                .where(UsageEventRow.at >= since)
                .order_by(UsageEventRow.at, UsageEventRow.id)
            ).all()
            return [_point(r) for r in rows], [
                StoredUsageEvent(
                    e.project_id,
                    e.deployment,
                    e.at,
                    e.kind,
                    e.component,
                    e.replica,
                    e.slot,
                    e.message,
                )
                for e in events
            ]

    def prune_usage(self, samples_before: float, before: float) -> int:
        """Delete samples older than ``samples_before`` and anything older than ``before``;
        returns how many rows went."""
        with self._write() as session:
            points = session.execute(
                delete(UsagePoint).where(
                    (UsagePoint.at < before)
                    | ((UsagePoint.span_s == 0) & (UsagePoint.at < samples_before))
                )
            )
            events = session.execute(delete(UsageEventRow).where(UsageEventRow.at < before))
            return sum(int(getattr(r, "rowcount", 0) or 0) for r in (points, events))
