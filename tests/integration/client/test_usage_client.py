"""``Deployment.get_usage`` and ``shipyard deployments usage`` against the real API app
(``tests.live_api``): the range asked for, buckets before the last hour, events, bad input."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.errors import InvalidInput, InvalidSpec
from shipyard.sdk import Project
from shipyard.spec.resources import Resources
from shipyard.spec.status import DeploymentStatus, ReplicaPhase, ReplicaStatus, ReplicaUsage
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture
def deployed(cli, tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "predictor.py").write_text("class Predictor: ...\n")
    assert cli("models", "push", str(root), "--name", "m", "--framework", "python").exit_code == 0
    assert cli("deploy", "m", "-m", "m", "--timeout", "30").exit_code == 0


def record(api: LiveApi, start: float, seconds: int, step: int = 10, restarts: int = 0) -> None:
    assert api.store is not None
    project_id = api.store.list_projects()[0].id
    for t in range(0, seconds, step):
        usage = ReplicaUsage(
            cpu_cores=0.2, memory_mb=100.0 + t % 50, memory_peak_mb=160.0,
            requests=Resources(cores=0.5, memory=256), limits=Resources(cores=1, memory=512),
        )  # fmt: skip
        replica = ReplicaStatus(
            id="m-r1",
            component="predictor",
            slot=0,
            revision=1,
            phase=ReplicaPhase.READY,
            restarts=restarts,
            usage=usage,
        )
        status = DeploymentStatus(replicas=[replica])
        api.usage.record(start + t, [(project_id, "m", status)])


def test_get_usage_answers_the_range_with_buckets_before_the_last_hour(
    api: LiveApi, project: Project, deployed
) -> None:
    now = time.time()
    record(api, now - 7200, 7200)
    deployment = project.get_model_serving().get_deployment("m")
    usage = deployment.get_usage(since=timedelta(hours=2))
    (replica,) = usage.replicas
    assert replica.limits == Resources(cores=1, memory=512)
    assert 350 <= len(replica.samples) <= 361  # every 10 s sample of the last hour
    assert 55 <= len(replica.buckets) <= 61  # one per minute before it
    assert replica.buckets[1].memory_mb is not None and replica.buckets[1].count == 6
    recent = deployment.get_usage(since=datetime.now(UTC) - timedelta(minutes=10))
    assert 55 <= len(recent.replicas[0].samples) <= 61 and recent.replicas[0].buckets == []
    old = deployment.get_usage(since=now - 7200, until=now - 5400)
    assert old.replicas[0].samples == [] and len(old.replicas[0].buckets) >= 29


def test_get_usage_refuses_bad_times(project: Project, deployed) -> None:
    deployment = project.get_model_serving().get_deployment("m")
    with pytest.raises(InvalidInput, match="no time zone"):
        deployment.get_usage(since=datetime(2026, 1, 1))
    with pytest.raises(InvalidSpec, match="not before until"):
        deployment.get_usage(since=time.time(), until=time.time() - 60)


def test_cli_usage_prints_sparklines_against_the_limit_and_events(
    api: LiveApi, cli, deployed
) -> None:
    now = time.time()
    record(api, now - 600, 300)
    record(api, now - 300, 300, restarts=1)
    result = cli("deployments", "usage", "m", "--since", "15m")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["REPLICA", "CPU"]
    assert lines[1].startswith("m-r1") and "0.5 / 1.0" in lines[1] and "256 / 512" in lines[1]
    assert any("RESTART" in line and "restarted (1 restart)" in line for line in lines)
    as_json = json.loads(cli("deployments", "usage", "m", "--json").stdout)
    assert as_json["replicas"][0]["replica"] == "m-r1"
    bad = cli("deployments", "usage", "m", "--since", "yesterday")
    assert bad.exit_code != 0 and "neither a duration" in bad.output


def test_advice_through_the_sdk_and_the_cli(api: LiveApi, cli, project: Project, deployed) -> None:
    deployment = project.get_model_serving().get_deployment("m")
    (early,) = deployment.get_advice().components
    assert not early.enough_data and early.reasons[0].startswith("not enough data")
    assert "not enough data" in cli("deployments", "status", "m").stdout
    record(api, time.time() - 300, 300, step=2)  # ~100-150 MiB under a 512 MiB limit
    (advice,) = deployment.get_advice(since=timedelta(minutes=10)).components
    assert advice.enough_data and advice.limits is not None
    assert advice.limits.memory < 512 and advice.evidence.samples == 150
    assert advice.command.startswith("shipyard deployments update m ")
    shown = cli("deployments", "advice", "m", "--since", "10m")
    assert shown.exit_code == 0, shown.output
    assert f"limit {advice.limits.cores:g} cores / {advice.limits.memory} MiB" in shown.stdout
    assert advice.command in shown.stdout.replace("\n", "")
    as_json = json.loads(cli("deployments", "advice", "m", "--since", "10m", "--json").stdout)
    assert as_json["components"][0]["evidence"]["samples"] == 150


def test_cold_starts_through_the_sdk_and_status(cli, project: Project, deployed) -> None:
    deployment = project.get_model_serving().get_deployment("m")
    (starts,) = deployment.get_cold_starts().components
    assert starts.component == "predictor" and starts.count == 1
    assert list(starts.latest.phases) == [
        "environment", "capacity", "spawn", "imports", "model_load", "startup"
    ]  # fmt: skip
    assert starts.latest.total_s == pytest.approx(sum(starts.latest.phases.values()))
    shown = cli("deployments", "status", "m").stdout
    assert "cold starts:" in shown and "predictor: latest " in shown
