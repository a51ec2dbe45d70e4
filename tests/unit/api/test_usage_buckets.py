"""Downsampling beyond the last hour, the time range, and the history's round trip through the
store (SQLite on disk: a restarted server finds what the last one recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.api.usage_buckets import BucketBuilder, Spread, UsageSample
from shipyard.api.usage_history import UsageHistory
from shipyard.api.usage_persistence import flush, prune, restore_history
from shipyard.store import open_store
from tests.unit.api.test_usage_history import replica, snap

pytestmark = pytest.mark.unit


def sample(at: float, cpu: float | None, mem: float | None) -> UsageSample:
    return UsageSample(at, cpu, mem, mem)


def test_a_bucket_closes_when_a_sample_starts_the_next_one() -> None:
    builder = BucketBuilder(span_s=60)
    assert builder.add(sample(0, 0.5, 100)) is None
    assert builder.add(sample(30, None, 300)) is None
    assert builder.pending() is not None
    closed = builder.add(sample(61, 1.0, 50))
    assert closed is not None
    assert (closed.at, closed.span_s, closed.count) == (0, 60, 2)
    assert closed.cpu_cores == Spread(0.5, 0.5, 0.5)  # unmeasured CPU is left out
    assert closed.memory_mb == Spread(100, 200, 300)
    assert closed.memory_peak_mb == 300


def test_beyond_the_retention_only_buckets_remain_and_cover_a_day_at_bounded_cost() -> None:
    history = UsageHistory(interval_s=10, retention_s=600, history_s=7200)
    for t in range(0, 7200, 10):
        history.record(float(t), snap(replica("r1", float(t % 120))))
    (r,), _ = history.query("p", "d", since=0)
    assert len(r.samples) == 61  # the last 10 minutes at full resolution
    assert r.samples[0].at == 6590
    assert len(r.buckets) == 109  # one per minute before them, none overlapping
    assert r.buckets[0].at == 0 and r.buckets[-1].at + r.buckets[-1].span_s <= 6590
    assert all(b.count == 6 for b in r.buckets)
    assert r.buckets[1].memory_mb == Spread(60, 85, 110)


def test_query_takes_a_time_range() -> None:
    history = UsageHistory(interval_s=1, retention_s=60)
    for t in range(100, 120):
        history.record(float(t), snap(replica("r1", float(t))))
    (r,), _ = history.query("p", "d", since=105, until=108)
    assert [s.at for s in r.samples] == [105, 106, 107, 108]
    assert history.query("p", "d", since=200)[0] == []
    assert history.query("p", "d", since=0, until=50)[0] == []


def test_history_survives_a_restart_through_the_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        history = UsageHistory(interval_s=10, retention_s=600, history_s=7200)
        for t in range(0, 1200, 10):
            restarts = 1 if t >= 600 else 0
            history.record(float(t), snap(replica("r1", 100.0 + t % 7, restarts=restarts)))
        assert flush(history, store) > 0
        assert flush(history, store) == 0  # drained
        before, before_events = history.query("p", "d", since=0)

        again = UsageHistory(interval_s=10, retention_s=600, history_s=7200)
        assert restore_history(again, store, now=1190.0) > 0
        after, after_events = again.query("p", "d", since=0)
        assert [e.kind for e in after_events] == ["restart"] == [e.kind for e in before_events]
        assert [s.at for s in after[0].samples] == [s.at for s in before[0].samples]
        assert list(after[0].buckets) == list(before[0].buckets)
        assert after[0].limits == before[0].limits and after[0].restarts == 1
        assert not after[0].live  # until the next sample shows it
        assert again.drain() == []  # restored rows are not written again

        assert prune(again, store, now=10_000.0) > 0
        assert store.load_usage(0, 0) == ([], [])
    finally:
        store.close()
