"""Build records: who sees which build, ids checked, what a restart keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.environments.builds import (
    BuildRecords,
    BuildUse,
    find_visible,
    info_of,
    record_of,
    visible_builds,
)
from shipyard.errors import InvalidInput, NotFound
from shipyard.spec.environment import (
    BuildState,
    EnvironmentBuild,
    EnvironmentInfo,
    EnvironmentPhase,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
A, B, C = "a" * 16, "b" * 16, "c" * 16


def build(build_id: str, state: BuildState = BuildState.READY, **more: object) -> EnvironmentBuild:
    return EnvironmentBuild(
        id=build_id, base="shipyard/python:1.0.0", state=state, started_at=T0, **more
    )


USES = {
    A: [BuildUse("p1", "one", "fraud"), BuildUse("p2", "two", "churn")],
    B: [BuildUse("p2", "two", "churn")],
}


def test_a_project_sees_the_builds_its_deployments_use_and_only_its_names() -> None:
    shown = visible_builds([build(A), build(B), build(C)], USES, project_id="p1", admin=False)
    assert [(b.id, b.deployments) for b in shown] == [(A, ["fraud"])]


def test_an_administrator_sees_every_build_naming_other_projects() -> None:
    shown = visible_builds([build(A), build(B), build(C)], USES, project_id="p1", admin=True)
    assert [(b.id, b.deployments) for b in shown] == [
        (A, ["fraud", "two/churn"]),
        (B, ["two/churn"]),
        (C, []),
    ]


def test_another_projects_build_is_not_found_naming_the_id() -> None:
    with pytest.raises(NotFound, match=f"environment build '{B}' not found"):
        find_visible(B, [build(A), build(B)], USES, project_id="p1", admin=False)
    assert find_visible(B, [build(B)], USES, project_id="p1", admin=True).id == B


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABCDEF0123456789", "abc", "a" * 17])
def test_an_id_that_cannot_be_a_build_is_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput, match="16 lowercase hex digits"):
        find_visible(bad, [], {}, project_id="p1", admin=True)


def info(phase: EnvironmentPhase, key: str | None = "e" * 16, **more: object) -> EnvironmentInfo:
    return EnvironmentInfo(base="shipyard/python:1.0.0", build=A, phase=phase, key=key, **more)


def test_a_finished_build_records_its_times_and_lock_hash() -> None:
    done = T0 + timedelta(seconds=12.5)
    ready = info(EnvironmentPhase.READY, packages=["numpy==2.4.6"], message="built in 12.5 s")
    record = record_of(ready, T0, 4096, None, now=done)
    assert record is not None
    assert record.state is BuildState.READY and record.finished_at == done
    assert record.duration_s == 12.5 and record.size_bytes == 4096
    assert record.lock_hash is not None and len(record.lock_hash) == 64
    running = record_of(info(EnvironmentPhase.RESOLVING, key=None), T0, None, None, now=done)
    assert running is not None and running.state is BuildState.BUILDING
    assert running.finished_at is None and running.lock_hash is None


def test_a_restart_keeps_the_first_record_of_a_ready_build() -> None:
    first = build(A, environment="e" * 16, duration_s=30.0)
    for phase in (EnvironmentPhase.RESOLVING, EnvironmentPhase.READY):
        assert record_of(info(phase, reused=True), T0, None, first) is None
    failed = record_of(info(EnvironmentPhase.FAILED, message="boom"), T0, None, first)
    assert failed is not None and failed.state is BuildState.FAILED  # failures always recorded
    rebuilt = record_of(info(EnvironmentPhase.BUILDING), T0, None, first)
    assert rebuilt is not None and rebuilt.state is BuildState.BUILDING  # its venv was gone


def test_a_record_reads_back_as_the_environment_it_built() -> None:
    ready = info(EnvironmentPhase.READY, packages=["numpy==2.4.6"], python="3.11.7")
    record = record_of(ready, T0, 4096, None, now=T0 + timedelta(seconds=3))
    assert record is not None
    back = info_of(record)
    assert back.phase is EnvironmentPhase.READY and back.build == record.id
    assert (back.key, back.packages, back.python) == (ready.key, ready.packages, "3.11.7")
    assert back.build_seconds == 3.0 and back.message == ""
    failed = info_of(build(A, BuildState.FAILED, step="no numpy<1 exists"))
    assert (failed.phase, failed.message) == (EnvironmentPhase.FAILED, "no numpy<1 exists")
    cut = info_of(build(A, BuildState.BUILDING, step="installing"))  # its server stopped
    assert cut.phase is EnvironmentPhase.FAILED and "interrupted" in cut.message


def test_records_round_trip_newest_first_and_skip_garbage(tmp_path: Path) -> None:
    records = BuildRecords(tmp_path / "builds")
    assert records.all() == []
    records.save(build(A))
    records.save(build(B).model_copy(update={"started_at": T0 + timedelta(minutes=1)}))
    (tmp_path / "builds" / f"{C}.json").write_text("{not json")
    (tmp_path / "builds" / "notes.json").write_text("{}")
    assert [b.id for b in records.all()] == [B, A]
    assert records.get(C) is None and records.get(A) == build(A)
