"""The reconciler with the fake backend, an in-memory store and a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.backends.fake import FakeBackend
from shipyard.backends.protocol import Health
from shipyard.controller.reconcile import Controller
from shipyard.settings import ServerSettings
from shipyard.spec.resources import PredictorResources
from shipyard.spec.status import DeploymentState
from tests.unit.controller.fakes import Clock, MemoryStore, local, settle

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def world_settings(home: Path) -> ServerSettings:
    return ServerSettings(
        home=home, restart_backoff_s=1.0, restart_backoff_max_s=8.0, crashloop_threshold=3,
        replica_start_timeout_s=60,
    )  # fmt: skip


@pytest.fixture
def world(tmp_path: Path):
    store = MemoryStore(tmp_path)
    backend = FakeBackend()
    clock = Clock()
    settings = world_settings(tmp_path)
    controller = Controller(store=store, backends=local(backend), settings=settings, clock=clock)  # type: ignore[arg-type]
    return store, backend, clock, controller


async def test_a_new_deployment_gets_its_replicas_and_routes(world) -> None:
    store, backend, _, controller = world
    dep = store.add("iris", 2)
    await settle(controller)
    assert len(backend.replicas) == 2
    assert store.statuses[dep].state is DeploymentState.RUNNING
    table = controller.routes.snapshot()
    [route] = table["deployments"]
    assert route["name"] == "iris" and len(route["predictor"]) == 2
    assert table["keys"] == {"h": "p"}


async def test_a_crashed_replica_restarts_with_backoff_and_crash_loops_to_failed(world) -> None:
    store, backend, clock, controller = world
    dep = store.add("iris", 1)
    await settle(controller)
    for failure in range(1, 4):
        [rid] = list(backend.replicas)
        backend.crash(rid)
        await settle(controller, 1)
        assert backend.replicas == {}  # waiting for the backoff
        state = store.statuses[dep].state
        expected = DeploymentState.FAILED if failure >= 3 else DeploymentState.STARTING
        assert state is expected
        clock.now += 2 ** (failure - 1) + 0.01
        await settle(controller, 1)
        assert len(backend.replicas) == 1
    status = store.statuses[dep]
    assert status.replicas[0].restarts == 3
    assert status.replicas[0].last_exit is not None
    # ready for long enough: the next crash starts counting again
    await settle(controller, 1)
    clock.now += 30
    [rid] = list(backend.replicas)
    backend.crash(rid)
    await settle(controller, 1)
    assert store.statuses[dep].state is DeploymentState.STARTING


async def test_the_status_lists_replicas_by_slot_whatever_their_ids(world) -> None:
    store, backend, clock, controller = world
    dep = store.add("iris", 12)  # ids name the slot as text: "iris-p10-…" sorts before "iris-p2-…"
    await settle(controller)
    assert [r.slot for r in store.statuses[dep].replicas] == list(range(12))
    first = store.statuses[dep].replicas[0]
    backend.crash(first.id)  # its replacement gets a new id
    await settle(controller, 1)
    clock.now += 1.01
    await settle(controller, 1)
    replicas = store.statuses[dep].replicas
    assert [r.slot for r in replicas] == list(range(12))
    assert replicas[0].id != first.id and replicas[0].restarts == 1


async def test_stop_releases_every_replica_and_start_brings_them_back(world) -> None:
    store, backend, _, controller = world
    dep = store.add("iris", 2)
    await settle(controller)
    store.update(dep, active=False)
    await settle(controller)
    assert backend.replicas == {} and len(backend.stopped) == 2
    assert store.statuses[dep].state is DeploymentState.STOPPED
    assert controller.routes.snapshot()["deployments"][0]["predictor"] == []
    store.update(dep, active=True)
    await settle(controller)
    assert len(backend.replicas) == 2
    assert store.statuses[dep].state is DeploymentState.RUNNING


async def test_recovery_adopts_running_replicas_without_duplicates(world, tmp_path) -> None:
    store, backend, clock, controller = world
    store.add("iris", 2)
    await settle(controller)
    before = set(backend.replicas)
    settings = world_settings(tmp_path)
    fresh = Controller(store=store, backends=local(backend), settings=settings, clock=clock)  # type: ignore[arg-type]
    await fresh.recover()
    await settle(fresh)
    assert set(backend.replicas) == before
    assert backend.started == list(before) or set(backend.started) == before


async def test_one_broken_deployment_does_not_stop_the_others(world) -> None:
    store, _, _, controller = world
    bad = store.add("bad", 1, model="missing")
    good = store.add("good", 1)
    await settle(controller)
    assert store.statuses[good].state is DeploymentState.RUNNING
    assert store.statuses[bad].state is DeploymentState.FAILED
    assert "not found" in store.statuses[bad].message


async def test_a_replica_that_never_gets_ready_is_replaced_after_the_timeout(world) -> None:
    store, backend, clock, controller = world
    backend.auto_ready = False
    dep = store.add("slow", 1)
    await settle(controller, 1)
    [first] = list(backend.replicas)
    clock.now += 61
    await settle(controller, 1)
    assert first in backend.stopped
    clock.now += 2
    await settle(controller, 1)
    assert len(backend.replicas) == 1 and first not in backend.replicas
    backend.set_health(next(iter(backend.replicas)), Health.READY)
    await settle(controller, 1)
    status = store.statuses[dep]
    assert status.state is DeploymentState.RUNNING
    assert status.replicas[0].restarts == 1
    assert status.replicas[0].last_exit.reason == "StartTimeout"
    assert status.replicas[0].last_exit.message == "not ready after 60 s"


async def test_deleting_stops_replicas_then_purges(world) -> None:
    store, backend, _, controller = world
    dep = store.add("iris", 1)
    await settle(controller)
    store.update(dep, deleting=True)
    await settle(controller)
    assert backend.replicas == {} and store.purged == [dep]


async def test_what_does_not_fit_waits_unscheduled_and_starts_when_capacity_frees(tmp_path) -> None:
    from shipyard.spec.capacity import Capacity
    from shipyard.spec.resources import Resources
    from shipyard.spec.status import ConditionStatus, ConditionType

    store = MemoryStore(tmp_path)
    backend = FakeBackend(capacity=Capacity(cores=2, memory=1000, gpus=0))
    settings = ServerSettings(home=tmp_path)
    controller = Controller(store=store, backends=local(backend), settings=settings, clock=Clock())  # type: ignore[arg-type]
    big = PredictorResources(requests=Resources(0.5, 600), limits=Resources(1, 800))
    first = store.add("first", 1, resources=big)
    second = store.add("second", 1, resources=big)
    await settle(controller)
    assert store.statuses[first].state is DeploymentState.RUNNING
    waiting = store.statuses[second]
    assert waiting.state is DeploymentState.STARTING
    scheduled = waiting.condition(ConditionType.SCHEDULED)
    assert scheduled is not None and scheduled.status is ConditionStatus.FALSE
    assert scheduled.reason == "Unschedulable"
    assert "insufficient memory: requested 600 MiB, 400 MiB free" in scheduled.message
    assert len(backend.replicas) == 1
    store.update(first, active=False)
    await settle(controller)
    assert store.statuses[second].state is DeploymentState.RUNNING
    assert store.statuses[first].state is DeploymentState.STOPPED


class FakeEnvironments:
    """Environments whose phase the test decides; records what was asked."""

    def __init__(self, tmp_path: Path) -> None:
        from shipyard.environments.catalogue import Catalogue
        from shipyard.spec.environment import EnvironmentInfo, EnvironmentPhase

        self.catalogue = Catalogue.load()
        self.runtime_path = tmp_path / "overlay"
        self.info = EnvironmentInfo(base="shipyard/python:1.0.0", phase=EnvironmentPhase.BUILDING)
        self.phase = EnvironmentPhase
        self.requests: list[tuple[object, bool]] = []
        self.looked_up: list[object] = []
        self.listener = None

    def set_listener(self, listener) -> None:
        self.listener = listener

    def status(self, request, *, retry: bool = False):
        self.requests.append((request, retry))
        return self.info

    def known(self, request):
        self.looked_up.append(request)
        return self.info

    def python(self, key: str) -> Path:
        return Path(f"/envs/{key}/bin/python")

    async def close(self) -> None:
        pass


async def test_replicas_wait_for_their_environment_then_run_in_it(tmp_path) -> None:
    store = MemoryStore(tmp_path)
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    backend, envs = FakeBackend(), FakeEnvironments(tmp_path)
    settings = ServerSettings(home=tmp_path)
    controller = Controller(
        store=store, backends=local(backend), settings=settings, environments=envs, clock=Clock()
    )  # type: ignore[arg-type]
    assert envs.listener == controller.notify  # build progress wakes the reconciler
    dep = store.add("iris", 2)
    await settle(controller)
    assert backend.started == []  # nothing starts while the environment builds
    status = store.statuses[dep]
    assert status.state is DeploymentState.STARTING
    assert status.environments["predictor"].phase is envs.phase.BUILDING
    request, retry = envs.requests[0]
    assert request.base.ref == "shipyard/python:1.0.0"  # the default base for requirements
    assert request.requirements == ("scikit-learn==1.5.2",)
    assert retry is True and not any(r for _, r in envs.requests[1:])

    envs.info = envs.info.model_copy(update={"phase": envs.phase.READY, "key": "abc"})
    await settle(controller)
    assert len(backend.started) == 2
    spec = next(iter(backend.replicas.values())).spec
    assert spec.python == "/envs/abc/bin/python" and spec.runtime_path == tmp_path / "overlay"
    assert store.statuses[dep].state is DeploymentState.RUNNING


async def test_a_failed_environment_fails_the_deployment_and_retries_on_a_change(tmp_path) -> None:
    store = MemoryStore(tmp_path)
    backend, envs = FakeBackend(), FakeEnvironments(tmp_path)
    envs.info = envs.info.model_copy(
        update={"phase": envs.phase.FAILED, "message": "could not be resolved: no numpy<1"}
    )
    controller = Controller(
        store=store, backends=local(backend), settings=ServerSettings(home=tmp_path),
        environments=envs, clock=Clock(),
    )  # type: ignore[arg-type]  # fmt: skip
    dep = store.add("iris", 1)
    store.update(
        dep,
        spec=store.deployments[dep].spec.model_copy(
            update={
                "predictor": store.deployments[dep].spec.predictor.model_copy(
                    update={"environment": "md-base/python/machine-learning:1.1.0"}
                )
            }
        ),
    )
    await settle(controller)
    assert backend.started == []
    status = store.statuses[dep]
    assert status.state is DeploymentState.FAILED
    assert "no numpy<1" in status.message
    assert envs.requests[-1][0].base.ref == "shipyard/machine-learning:1.0.0"
    envs.requests.clear()
    store.update(dep, revision=2)
    await settle(controller, passes=1)
    assert envs.requests[0][1] is True  # a new revision retries the failed build


async def test_a_stopped_deployment_shows_its_environment_after_a_restart_building_nothing(
    tmp_path,
) -> None:
    store = MemoryStore(tmp_path)
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    backend, envs = FakeBackend(), FakeEnvironments(tmp_path)
    envs.info = envs.info.model_copy(update={"phase": envs.phase.READY, "key": "abc"})
    dep = store.add("iris", 1, active=False)  # stopped before this server started
    controller = Controller(
        store=store, backends=local(backend), settings=ServerSettings(home=tmp_path),
        environments=envs, clock=Clock(),
    )  # type: ignore[arg-type]  # fmt: skip
    await settle(controller, passes=3)
    status = store.statuses[dep]
    assert status.environments["predictor"].phase is envs.phase.READY  # its build stays listed
    assert envs.requests == [] and len(envs.looked_up) == 1  # looked up once, nothing built
    store.update(dep, active=True)
    await settle(controller)
    assert envs.requests[0][1] is True  # the start asks for it, retrying one that failed
    assert len(backend.replicas) == 1


async def test_without_environment_or_requirements_replicas_run_embedded(tmp_path) -> None:
    store = MemoryStore(tmp_path)
    backend, envs = FakeBackend(), FakeEnvironments(tmp_path)
    controller = Controller(
        store=store, backends=local(backend), settings=ServerSettings(home=tmp_path),
        environments=envs, clock=Clock(),
    )  # type: ignore[arg-type]  # fmt: skip
    store.add("iris", 1)
    await settle(controller)
    [replica] = backend.replicas.values()
    assert replica.spec.python is None and envs.requests == []
    assert store.statuses["id-iris"].environments == {}


async def test_scale_to_zero_wakes_on_demand_and_sleeps_after_the_retention(world) -> None:
    store, backend, clock, controller = world
    dep = store.add("sleepy", 0)  # 0 instances = scale to zero
    await settle(controller)
    assert backend.replicas == {} and store.statuses[dep].state is DeploymentState.IDLE
    [route] = controller.routes.snapshot()["deployments"]
    assert route["wakeable"] is True and route["predictor"] == []

    assert controller.wake("p", "sleepy") is True
    await settle(controller)
    assert len(backend.replicas) == 1 and store.statuses[dep].state is DeploymentState.RUNNING
    controller.record_traffic([{"project_id": "p", "name": "sleepy", "requests": 1,
                                "busy_s": 0.1, "in_flight": 0}])  # fmt: skip
    for _ in range(25):  # 25 s without a request: still within the 30 s retention
        clock.now += 1.0
        controller.record_traffic([{"project_id": "p", "name": "sleepy", "requests": 1,
                                    "busy_s": 0.1, "in_flight": 0}])  # fmt: skip
        await settle(controller, passes=1)
    assert len(backend.replicas) == 1
    for _ in range(10):
        clock.now += 1.0
        await settle(controller, passes=1)
    assert backend.replicas == {} and store.statuses[dep].state is DeploymentState.IDLE
    assert any("scaled to zero" in n for n in store.statuses[dep].notes)


async def test_autoscaling_follows_the_gateways_traffic(world) -> None:
    from shipyard.spec.scaling import ScalingConfig

    store, backend, clock, controller = world
    dep = store.add("busy", 1)
    record = store.deployments[dep]
    scaling = ScalingConfig(min_instances=1, max_instances=4, target=2.0, stable_window_s=10.0,
                            panic_window_s=2.0)  # fmt: skip
    predictor = record.spec.predictor.model_copy(update={"scaling": scaling})
    store.update(dep, spec=record.spec.model_copy(update={"predictor": predictor}))
    await settle(controller)
    busy = 0.0
    for second in range(12):  # 6 requests in flight all the time: 3 replicas at a target of 2
        clock.now += 1.0
        busy += 6.0
        controller.record_traffic([{"project_id": "p", "name": "busy", "requests": 10 * second,
                                    "busy_s": busy, "in_flight": 6}])  # fmt: skip
        await settle(controller, passes=1)
    assert len(backend.replicas) == 3
    assert store.statuses[dep].available_instances == {"predictor": 3}


async def test_a_crash_looping_slot_is_forgiven_after_an_update_that_fixes_it(world) -> None:
    store, backend, clock, controller = world
    dep = store.add("iris", 1)
    await settle(controller)
    for _ in range(3):
        [rid] = list(backend.replicas)
        backend.crash(rid)
        await settle(controller, 1)
        clock.now += 10
        await settle(controller, 1)
    [rid] = list(backend.replicas)
    backend.crash(rid)
    await settle(controller, 1)
    assert store.statuses[dep].state is DeploymentState.FAILED
    record = store.deployments[dep]
    fixed = record.spec.predictor.model_copy(update={"script_file": "predictor.py"})
    store.update(dep, spec=record.spec.model_copy(update={"predictor": fixed}), revision=2)
    await settle(controller, 1)  # the new revision starts at once, without the old backoff
    status = store.statuses[dep]
    assert status.state is not DeploymentState.FAILED and status.observed_revision == 2
    await settle(controller)
    status = store.statuses[dep]
    assert status.state is DeploymentState.RUNNING
    assert status.replicas[0].restarts == 4  # the history stays
    assert status.replicas[0].ready_at is not None


async def test_a_rollback_to_the_serving_revision_clears_the_failed_rollout(world) -> None:
    store, backend, clock, controller = world
    dep = store.add("iris", 1)
    await settle(controller)
    good = store.deployments[dep].spec
    backend.auto_ready = False
    bad = good.model_copy(
        update={"predictor": good.predictor.model_copy(update={"script_file": "bad.py"})}
    )
    store.update(dep, spec=bad, revision=2)
    for _ in range(4):
        await settle(controller, 1)
        new = [r for r in backend.replicas.values() if r.spec.revision == 2]
        for replica in new:
            backend.crash(replica.spec.replica_id)
        await settle(controller, 1)
        clock.now += 10
    status = store.statuses[dep]
    assert status.state is DeploymentState.FAILED and "rollout stopped" in status.message
    store.update(dep, spec=good, revision=3)
    await settle(controller)
    status = store.statuses[dep]
    assert status.state is DeploymentState.RUNNING and status.observed_revision == 3


async def test_stopping_a_failed_deployment_forgives_its_failures(world) -> None:
    store, backend, clock, controller = world
    backend.auto_ready = False
    dep = store.add("iris", 1)
    for _ in range(3):
        await settle(controller, 1)
        for rid in list(backend.replicas):
            backend.crash(rid)
        await settle(controller, 1)
        clock.now += 10
    assert store.statuses[dep].state is DeploymentState.FAILED
    store.update(dep, active=False)
    await settle(controller)
    assert store.statuses[dep].state is DeploymentState.STOPPED
    store.update(dep, active=True)
    await settle(controller, 1)
    assert store.statuses[dep].state is DeploymentState.STARTING
    backend.set_health(next(iter(backend.replicas)), Health.READY)
    await settle(controller, 1)
    assert store.statuses[dep].state is DeploymentState.RUNNING


async def test_a_replicas_status_shows_the_limits_it_runs_with_not_the_specs(world) -> None:
    from shipyard.backends.protocol import UsageSample
    from shipyard.spec.resources import Resources

    store, backend, clock, controller = world
    wanted = PredictorResources(requests=Resources(0.25, 64), limits=Resources(1.5, 512))
    dep = store.add("iris", 1, resources=wanted)
    await settle(controller, 1)
    [replica] = backend.replicas.values()
    held = Resources(0.25, 128)  # what its cgroup holds, read back by the backend
    replica.usage = UsageSample(
        cpu_seconds=1.0, memory_bytes=1 << 20, memory_peak_bytes=1 << 20, limits=held
    )
    clock.now += 5
    await settle(controller, 1)
    [status] = store.statuses[dep].replicas
    assert status.usage is not None and status.usage.limits == held
    assert status.usage.requests == wanted.requests  # not read back: the spec's
    assert status.ready_at is not None and status.started_at is not None


async def test_a_notify_from_another_thread_wakes_the_loop_at_once(tmp_path) -> None:
    import asyncio
    import threading
    import time

    store = MemoryStore(tmp_path)
    settings = ServerSettings(home=tmp_path, reconcile_interval_s=3600)
    controller = Controller(store=store, backends=local(FakeBackend()), settings=settings)  # type: ignore[arg-type]
    loop = asyncio.create_task(controller.run())

    def passes(n: int) -> int:  # polled from a thread: the event loop itself sits idle
        deadline = time.monotonic() + 5
        while controller.passes < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return controller.passes

    def api_thread() -> None:
        time.sleep(0.2)  # the loop is asleep in its hour-long wait by now
        controller.notify()

    try:
        assert await asyncio.to_thread(passes, 1) == 1
        threading.Thread(target=api_thread).start()
        assert await asyncio.to_thread(passes, 2) == 2  # woken, not after the interval
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


async def test_the_route_names_the_model_version_deployed(world) -> None:
    store, _, _, controller = world
    store.add("iris", 1)
    await settle(controller)
    [route] = controller.routes.snapshot()["deployments"]
    assert route["model_version"] == "1" and route["revision"] == 1
