"""LOCAL and DOCKER on one machine draw from one node inventory (no double-booking); a remote
engine keeps its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.backends.docker.engine import engine_is_local
from shipyard.backends.fake import FakeBackend
from shipyard.backends.registry import BackendRegistry
from shipyard.controller.reconcile import Controller
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool
from shipyard.spec.resources import PredictorResources, Resources
from shipyard.spec.status import ConditionType, DeploymentState
from tests.unit.controller.fakes import Clock, MemoryStore, settle

pytestmark = pytest.mark.unit
NODE = Capacity(cores=2, memory=4000, gpus=0)
ONE_CORE = PredictorResources(requests=Resources(1, 500), limits=Resources(1, 500))


def world(tmp_path: Path, *, shared: bool):
    local, docker = FakeBackend(capacity=NODE), FakeBackend(capacity=NODE)
    backends = BackendRegistry()
    backends.add_replicas(ServingTool.LOCAL, local, node="this machine")
    backends.add_replicas(ServingTool.DOCKER, docker, node="this machine" if shared else None)
    store = MemoryStore(tmp_path)
    settings = ServerSettings(home=tmp_path)
    controller = Controller(
        store=store,  # type: ignore[arg-type]
        backends=backends,
        settings=settings,
        clock=Clock(),
    )
    return store, local, docker, controller


async def test_docker_on_a_local_engine_waits_for_what_local_replicas_hold(
    tmp_path: Path,
) -> None:
    store, local, docker, controller = world(tmp_path, shared=True)
    first = store.add("on-local", 2, resources=ONE_CORE)
    await settle(controller)
    assert store.statuses[first].state is DeploymentState.RUNNING and len(local.replicas) == 2
    second = store.add("on-docker", 1, resources=ONE_CORE, tool=ServingTool.DOCKER)
    await settle(controller)
    assert docker.replicas == {}  # the node's two cores are taken by LOCAL
    scheduled = store.statuses[second].condition(ConditionType.SCHEDULED)
    assert scheduled is not None and "insufficient cpu: requested 1 core" in scheduled.message
    assert [name for _, name, _ in controller.allocated(ServingTool.DOCKER)] == [
        "on-local",
        "on-local",
    ]  # what the API's "does not fit now" names
    store.update(first, active=False)
    await settle(controller)
    assert store.statuses[second].state is DeploymentState.RUNNING and len(docker.replicas) == 1


async def test_a_remote_engine_keeps_an_inventory_of_its_own(tmp_path: Path) -> None:
    store, local, docker, controller = world(tmp_path, shared=False)
    store.add("on-local", 2, resources=ONE_CORE)
    store.add("on-docker", 2, resources=ONE_CORE, tool=ServingTool.DOCKER)
    await settle(controller)
    assert len(local.replicas) == 2 and len(docker.replicas) == 2


@pytest.mark.parametrize(
    ("host", "local"),
    [
        (None, True),
        ("unix:///tmp/x/docker.sock", True),
        ("tcp://127.0.0.1:2375", True),
        ("tcp://localhost:2376", True),
        ("tcp://[::1]:2375", True),
        ("tcp://10.0.0.5:2376", False),
        ("ssh://user@build-host", False),
    ],
)
def test_which_engines_are_on_this_machine(host: str | None, local: bool) -> None:
    assert engine_is_local(host) is local
