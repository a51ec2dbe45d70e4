"""The controller driving a component backend (the KUBERNETES/KSERVE shape), alone and beside a
replica backend (the LOCAL/DOCKER shape), through the backend registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from shipyard.backends.fake import FakeBackend, FakeComponentBackend
from shipyard.backends.protocol import ComponentReport, Health
from shipyard.backends.registry import BackendRegistry
from shipyard.controller.reconcile import Controller
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import ServingTool
from shipyard.spec.status import Condition, ConditionStatus, ConditionType, DeploymentState
from tests.unit.controller.fakes import Clock, MemoryStore, settle

pytestmark = pytest.mark.unit


@pytest.fixture
def cluster(tmp_path: Path):
    store = MemoryStore(tmp_path)
    replicas, components = FakeBackend(), FakeComponentBackend()
    registry = BackendRegistry.of(
        replicas={ServingTool.LOCAL: replicas}, components={ServingTool.KSERVE: components}
    )
    settings = ServerSettings(home=tmp_path, crashloop_threshold=3)
    controller = Controller(store=store, backends=registry, settings=settings, clock=Clock())  # type: ignore[arg-type]
    return store, replicas, components, controller


async def test_a_component_backend_gets_the_whole_component_and_its_replicas_are_routed(
    cluster,
) -> None:
    store, replicas, components, controller = cluster
    dep = store.add("iris", 2, tool=ServingTool.KSERVE)
    await settle(controller)
    [applied] = components.applied
    assert (applied.deployment_id, applied.component, applied.instances) == (dep, "predictor", 2)
    assert applied.model_name == "m" and applied.revision == 1
    assert replicas.started == []  # the controller planned no single replica
    status = store.statuses[dep]
    assert status.state is DeploymentState.RUNNING
    assert status.available_instances == {"predictor": 2}
    assert [r.ready_at is not None for r in status.replicas] == [True, True]
    [route] = controller.routes.snapshot()["deployments"]
    assert route["predictor"] == [
        "http://fake-cluster/iris/predictor/0",
        "http://fake-cluster/iris/predictor/1",
    ]


async def test_a_new_revision_is_applied_and_the_status_follows_the_rollout(cluster) -> None:
    store, _, components, controller = cluster
    dep = store.add("iris", 1, tool=ServingTool.KSERVE)
    await settle(controller)
    components.auto_ready = False
    record = store.deployments[dep]
    predictor = record.spec.predictor.model_copy(update={"script_file": "predictor.py"})
    store.update(dep, spec=record.spec.model_copy(update={"predictor": predictor}), revision=2)
    await settle(controller)
    assert [s.revision for s in components.applied] == [1, 2]
    status = store.statuses[dep]
    assert status.state is DeploymentState.STARTING and status.observed_revision == 2
    components.set_health(dep, "predictor", Health.READY)
    await settle(controller)
    assert store.statuses[dep].state is DeploymentState.RUNNING


async def test_a_crash_loop_reported_by_the_backend_fails_the_deployment(cluster) -> None:
    store, _, components, controller = cluster
    dep = store.add("iris", 1, tool=ServingTool.KSERVE)
    await settle(controller)
    components.crash_loop(dep, "predictor", failures=3)
    await settle(controller, 1)
    status = store.statuses[dep]
    assert status.state is DeploymentState.FAILED
    started = status.condition(ConditionType.STARTED)
    assert started is not None and started.reason == "CrashLoopBackOff"
    assert status.replicas[0].restarts == 3


async def test_stop_removes_the_component_and_delete_purges_it(cluster) -> None:
    store, _, components, controller = cluster
    dep = store.add("iris", 1, tool=ServingTool.KSERVE)
    await settle(controller)
    store.update(dep, active=False)
    await settle(controller)
    assert (dep, "predictor") in components.removed and components.components == {}
    assert store.statuses[dep].state is DeploymentState.STOPPED
    store.update(dep, deleting=True)
    await settle(controller)
    assert store.purged == [dep]


async def test_both_shapes_side_by_side_and_one_failing_backend_spares_the_other(
    cluster,
) -> None:
    store, replicas, components, controller = cluster

    async def broken(*_: object) -> list[object]:
        raise RuntimeError("the cluster's API is down")

    local = store.add("local", 1)
    remote = store.add("remote", 1, tool=ServingTool.KSERVE)
    components.observe = broken  # type: ignore[method-assign]
    await settle(controller)
    assert store.statuses[local].state is DeploymentState.RUNNING
    assert len(replicas.replicas) == 1
    assert store.statuses[remote].state is DeploymentState.STARTING  # nothing seen ready
    metrics = CollectorRegistry()
    metrics.register(controller.errors)
    metrics.register(controller.pass_seconds)
    errors = metrics.get_sample_value("shipyard_reconcile_errors_total", {"phase": "targets"})
    assert errors is not None and errors >= 1
    passes = metrics.get_sample_value("shipyard_reconcile_pass_seconds_count")
    assert passes == controller.passes


async def test_a_tool_without_a_backend_fails_only_its_deployment(cluster) -> None:
    store, _, _, controller = cluster
    dep = store.add("boxed", 1, tool=ServingTool.DOCKER)
    ok = store.add("ok", 1)
    await settle(controller)
    assert store.statuses[ok].state is DeploymentState.RUNNING
    status = store.statuses[dep]
    assert status.state is DeploymentState.FAILED
    assert "DOCKER has no backend" in status.message and "KSERVE, LOCAL" in status.message


async def test_logs_and_capacity_are_asked_of_the_deployments_backend(cluster) -> None:
    from shipyard.spec.capacity import Capacity

    store, _, components, controller = cluster
    components.quota = Capacity(cores=8, memory=4096, gpus=0)
    dep = store.add("iris", 1, tool=ServingTool.KSERVE)
    await settle(controller)
    components.components[(dep, "predictor")].logs += ["loaded", "ready"]
    lines = controller.logs(dep, "predictor", 1)
    assert [(x.replica_id, x.line) for x in lines] == [("iris-predictor", "ready")]
    assert controller.capacity(ServingTool.KSERVE) == components.quota
    assert controller.capacity(ServingTool.LOCAL) is None  # the fake node is not limited
    assert controller.tools == {ServingTool.LOCAL, ServingTool.KSERVE}


async def test_a_replica_the_cluster_cannot_place_makes_the_deployment_unschedulable(
    cluster,
) -> None:
    import dataclasses

    from shipyard.spec.status import ConditionStatus

    store, _, components, controller = cluster
    components.auto_ready = False
    dep = store.add("iris", 1, tool=ServingTool.KSERVE)
    await settle(controller, 1)
    entry = components.components[(dep, "predictor")]
    why = "0/3 nodes are available: 3 Insufficient cpu"
    entry.replicas = [dataclasses.replace(r, unschedulable=why) for r in entry.replicas]
    await settle(controller, 1)
    status = store.statuses[dep]
    scheduled = status.condition(ConditionType.SCHEDULED)
    assert scheduled is not None and scheduled.status is ConditionStatus.FALSE
    assert scheduled.message == f"predictor replica 0: {why}"
    assert status.state is DeploymentState.STARTING and why in status.message


async def test_the_backends_report_reaches_the_status_and_follows_it(cluster) -> None:
    store, _, components, controller = cluster
    dep = store.add("iris", 1, tool=ServingTool.KSERVE)
    refused = Condition(
        type=ConditionType.APPLIED,
        status=ConditionStatus.FALSE,
        reason="Refused",
        message="the API server refused the InferenceService iris: 422 Invalid: spec.predictor",
    )
    components.reports[dep] = ComponentReport(
        conditions=(refused,),
        notes=("this cluster has no metrics API",),
        addresses={"url": "http://iris.demo.example.com"},
    )
    await settle(controller)
    status = store.statuses[dep]
    assert status.condition(ConditionType.APPLIED) == refused
    assert status.state is DeploymentState.RUNNING  # what runs keeps running
    assert status.notes == ["this cluster has no metrics API"]
    assert status.addresses == {"url": "http://iris.demo.example.com"}
    components.reports[dep] = ComponentReport()
    await settle(controller, 1)
    status = store.statuses[dep]
    assert status.condition(ConditionType.APPLIED) is None
    assert (status.notes, status.addresses) == ([], {})
