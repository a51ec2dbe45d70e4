"""An image build's step reaches the deployment's status: builder (fake engine), DOCKER backend
health, controller status condition and the CLI's live line."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

import pytest

from shipyard.backends.docker.images import STEP_MARK, ImageBuilder, ImageRecipe
from shipyard.backends.fake import FakeBackend
from shipyard.backends.protocol import Health, ReplicaHealth, ReplicaRef
from shipyard.cli._render import latest_condition
from shipyard.controller.reconcile import Controller
from shipyard.settings import ServerSettings
from shipyard.spec.status import ConditionStatus, ConditionType, DeploymentState
from tests.unit.backends.docker.fake_engine import FakeEngine
from tests.unit.backends.docker.test_docker_backend import BASE, make, spec
from tests.unit.controller.fakes import Clock, MemoryStore, local, settle

pytestmark = pytest.mark.unit
RECIPE = ImageRecipe(key="k1", base="shipyard/python:1", base_image=BASE, packages=("a==1", "b==2"))


def builder(tmp_path: Path, engine: FakeEngine, registry: str | None = None) -> ImageBuilder:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\n")
    return ImageBuilder(
        engine=engine,
        uv_binary=uv,
        uv_cache=tmp_path / "cache",
        work_dir=tmp_path / "builds",
        registry=registry,
    )


def test_the_builder_reports_each_step_while_it_is_in_it(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    engine.build_lines = [
        f"{STEP_MARK}packages",
        "Installed 2 packages",
        f"{STEP_MARK}runtime",
        "copied",
        f"{STEP_MARK}bytecode",
        "compiled",
    ]
    images = builder(tmp_path, engine, registry="127.0.0.1:5000")
    tag = images.tag(RECIPE)
    seen: list[tuple[str, str | None]] = []
    images.ensure(RECIPE, lambda line: seen.append((line, images.progress(tag))))
    steps = {line: progress for line, progress in seen}
    prefix = f"building image {tag}: "
    assert steps["Installed 2 packages"] == (
        prefix + "step 2/5: installing 2 locked packages with uv (bytecode compiled)"
    )
    assert steps["copied"] == prefix + "step 3/5: adding the Shipyard runtime"
    assert steps["compiled"] == prefix + "step 4/5: compiling the runtime's bytecode"
    assert steps[f"pushing {tag}"] == (
        prefix + "step 5/5: committing the image and pushing it to 127.0.0.1:5000"
    )
    assert not any(STEP_MARK in line for line, _ in seen)  # markers become the steps' words
    logged = [line.split(":")[0] for line, _ in seen if line.startswith("step ")]
    assert logged == ["step 1/5", "step 2/5", "step 3/5", "step 4/5", "step 5/5"]
    assert images.progress(tag) is None  # built: nothing in progress


def test_a_failed_build_leaves_no_progress_behind(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    engine.build_lines = [f"{STEP_MARK}packages", "error: no solution"]
    engine.build_exit = 1
    images = builder(tmp_path, engine)
    with pytest.raises(Exception, match="no solution"):
        images.ensure(RECIPE, lambda line: None)
    assert images.progress(images.tag(RECIPE)) is None


async def test_a_starting_replica_says_which_step_its_image_build_is_in(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    engine.gate = threading.Event()  # the build holds until the test lets it go
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    for _ in range(500):  # bounded: until the build container runs
        health = await backend.health(ref)
        if health.progress and "step 1/5" in health.progress:
            break
        await asyncio.sleep(0.01)
    assert health.health is Health.STARTING
    assert health.progress == (
        f"building image {ref.extra['image']}: step 1/5: getting the base image {BASE}"
    )
    engine.gate.set()
    await backend.stop(ref, grace_s=1)
    await backend.close()


class BuildingBackend(FakeBackend):
    """Replicas that stay STARTING while an image build goes through its steps."""

    progress: str | None = "building image shipyard/env:k1: step 2/5: installing 9 packages"

    async def health(self, ref: ReplicaRef) -> ReplicaHealth:
        health = await super().health(ref)
        if health.health is Health.STARTING:
            return dataclasses.replace(health, progress=self.progress)
        return health


async def test_the_status_and_the_live_line_show_the_build_step(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path)
    backend = BuildingBackend(auto_ready=False)
    settings = ServerSettings(home=tmp_path, replica_start_timeout_s=600)
    controller = Controller(
        store=store,  # type: ignore[arg-type]
        backends=local(backend),
        settings=settings,
        clock=Clock(),
    )
    dep = store.add("iris", 2)
    await settle(controller)
    status = store.statuses[dep]
    assert status.state is DeploymentState.STARTING
    init = next(c for c in status.conditions if c.type is ConditionType.INITIALIZED)
    assert (init.status, init.reason) == (ConditionStatus.UNKNOWN, "EnvironmentBuilding")
    assert init.message == f"predictor: {backend.progress}"  # named once for both replicas
    assert "step 2/5: installing 9 packages" in latest_condition(status)
    assert "step 2/5" in status.message
    backend.progress = "building image shipyard/env:k1: step 4/5: compiling bytecode"
    await settle(controller)
    assert "step 4/5" in latest_condition(store.statuses[dep])
    for rid in list(backend.replicas):
        backend.set_health(rid, Health.READY)
    await settle(controller)
    status = store.statuses[dep]
    assert status.state is DeploymentState.RUNNING
    assert "step" not in latest_condition(status) and "step" not in status.message
