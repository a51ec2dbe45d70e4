"""The usage history kept across server restarts: batched writes to the store, pruning, reload.

Layer: ``shipyard.api``, between ``api.usage_history`` (in memory) and ``store.usage`` (rows).
The composition root (``shipyard.server``) calls ``restore_history`` once before serving and
runs ``persist_forever`` beside the sampler: every ``FLUSH_S`` it writes what the history
recorded since the last flush in one transaction, and every ``PRUNE_S`` deletes samples older
than the history's ``retention_s`` and buckets and events older than its ``history_s``. A
failing store is logged and retried at the next flush (the history bounds what waits).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from shipyard.api.usage_buckets import Spread, UsageBucket, UsageSample
from shipyard.api.usage_history import Recorded, RecordedEvent, UsageEvent, UsageHistory
from shipyard.store import Store
from shipyard.store.usage import StoredUsageEvent, StoredUsagePoint, Triple

log = logging.getLogger("shipyard.api.usage")

FLUSH_S = 5.0
PRUNE_S = 300.0


def _triple(spread: Spread | None) -> Triple | None:
    return None if spread is None else (spread.min, spread.mean, spread.max)


def _same(value: float | None) -> Triple | None:
    return None if value is None else (value, value, value)


def stored_point(item: Recorded) -> StoredUsagePoint:
    """The store's row for one recorded sample or bucket."""
    p = item.point
    if isinstance(p, UsageBucket):
        at, span, count = p.at, p.span_s, p.count
        cpu, memory, peak = _triple(p.cpu_cores), _triple(p.memory_mb), p.memory_peak_mb
    else:
        at, span, count = p.at, 0.0, 1
        cpu, memory, peak = _same(p.cpu_cores), _same(p.memory_mb), p.memory_peak_mb
    return StoredUsagePoint(
        item.project_id, item.deployment, item.component, item.replica, item.slot,
        item.restarts, at, span, count, cpu, memory, peak, item.requests, item.limits,
        p.cpu_throttled,
    )  # fmt: skip


def stored_event(item: RecordedEvent) -> StoredUsageEvent:
    e = item.event
    return StoredUsageEvent(
        item.project_id, item.deployment, e.at, e.kind, e.component, e.replica, e.slot, e.message
    )


def _spread(value: Triple | None) -> Spread | None:
    return None if value is None else Spread(*value)


def recorded(row: StoredUsagePoint) -> Recorded:
    """The history's item for one stored row."""
    point: UsageSample | UsageBucket
    if row.span_s > 0:
        point = UsageBucket(
            row.at, row.span_s, row.count, _spread(row.cpu), _spread(row.memory),
            row.memory_peak, row.cpu_throttled,
        )  # fmt: skip
    else:
        cpu = row.cpu[1] if row.cpu else None
        memory = row.memory[1] if row.memory else None
        point = UsageSample(row.at, cpu, memory, row.memory_peak, row.cpu_throttled)
    return Recorded(
        row.project_id, row.deployment, row.replica, row.component, row.slot, row.restarts,
        row.requests, row.limits, point,
    )  # fmt: skip


def restore_history(history: UsageHistory, store: Store, now: float) -> int:
    """Load what the store kept of the last ``history_s`` into ``history``; returns the rows."""
    points, events = store.load_usage(now - history.retention_s, now - history.history_s)
    history.restore(
        (recorded(p) for p in points),
        (
            RecordedEvent(
                e.project_id,
                e.deployment,
                UsageEvent(e.at, e.kind, e.component, e.replica, e.message, e.slot),
            )
            for e in events
        ),
    )
    return len(points) + len(events)


def flush(history: UsageHistory, store: Store) -> int:
    """Write what ``history`` recorded since the last flush; returns how many items."""
    items = history.drain()
    if not items:
        return 0
    points = [stored_point(i) for i in items if isinstance(i, Recorded)]
    events = [stored_event(i) for i in items if isinstance(i, RecordedEvent)]
    store.add_usage(points, events)
    return len(items)


def prune(history: UsageHistory, store: Store, now: float) -> int:
    """Delete rows older than the history keeps; returns how many went."""
    return store.prune_usage(now - history.retention_s, now - history.history_s)


async def persist_forever(
    history: UsageHistory,
    store: Store,
    clock: Callable[[], float] = time.time,
    flush_s: float = FLUSH_S,
) -> None:
    """Flush every ``flush_s`` and prune every ``PRUNE_S`` until cancelled (then flush once)."""
    pruned_at = 0.0
    try:
        while True:
            await asyncio.sleep(flush_s)
            try:
                await asyncio.to_thread(flush, history, store)
                now = clock()
                if now - pruned_at >= PRUNE_S:
                    await asyncio.to_thread(prune, history, store, now)
                    pruned_at = now
            except Exception:  # a store hiccup must not end the history
                log.exception("writing the usage history failed")
    finally:
        try:
            flush(history, store)
        except Exception:
            log.exception("writing the usage history at shutdown failed")
