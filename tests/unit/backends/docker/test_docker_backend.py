"""The DOCKER backend's logic on a fake engine: requests, exits, builds, adoption, cleanup."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from pathlib import Path

import pytest

from shipyard.backends.adopted_tokens import DIGEST_KEY, OUTDATED
from shipyard.backends.docker.backend import DockerBackend
from shipyard.backends.docker.containers import (
    applied,
    container_request,
    ref_from,
)
from shipyard.backends.docker.engine import ContainerRequest, ContainerStats
from shipyard.backends.docker.images import ImageBuilder, ImageRecipe, build_script
from shipyard.backends.docker.recipes import embedded_recipe, environment_recipe
from shipyard.backends.docker.tokens import ContainerTokens
from shipyard.backends.gpus import GpuInventory
from shipyard.backends.protocol import Health, ReplicaSpec
from shipyard.errors import ModelServeError
from shipyard.spec.resources import ComponentResources, Resources
from shipyard.wire.replica_token import ReplicaTokens
from tests.unit.backends.docker.fake_engine import FakeEngine

pytestmark = pytest.mark.unit
BASE = "python:3.11-slim"
MIB = 1024 * 1024


def spec(tmp_path: Path, *, cores: float = 0.5, memory: int = 200, python: str | None = None):
    limits = Resources(cores=cores, memory=memory)
    return ReplicaSpec(
        replica_id="iris-p0-abcd1234",
        deployment_id="dep-1",
        deployment_name="iris",
        project_id="proj-1",
        component="predictor",
        slot=0,
        revision=3,
        template="tmpl",
        model_name="iris",
        model_version=2,
        model_dir=tmp_path,
        framework="sklearn",
        script_file="predictor.py",
        resources=ComponentResources(num_instances=1, requests=limits, limits=limits),
        python=python,
    )


def make(
    tmp_path: Path,
    engine: FakeEngine,
    registry: str | None = None,
    scope: str = "scope-1",
    tokens: ContainerTokens | None = None,
) -> DockerBackend:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\n")
    images = ImageBuilder(
        engine=engine,
        uv_binary=uv,
        uv_cache=tmp_path / "cache",
        work_dir=tmp_path / "builds",
        registry=registry,
        scope=scope,
    )
    return DockerBackend(
        engine=engine,
        images=images,
        scope=scope,
        capacity=None,
        stats_interval_s=0.01,
        tokens=tokens,
    )


async def settle(backend: DockerBackend, engine: FakeEngine, ref) -> None:
    """Until the background launch is over: a container exists, or the replica failed."""
    for _ in range(500):
        if engine.containers({"io.shipyard.replica": ref.replica_id}):
            return
        health = await backend.health(ref)
        if health.health is Health.EXITED:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the launch did not finish")


def test_the_container_gets_the_exact_limit_and_the_safe_defaults(tmp_path: Path) -> None:
    wanted = container_request(spec(tmp_path), "img:1", "scope-1", ("127.0.0.1", 4100), [])
    assert wanted.nano_cpus == 500_000_000
    assert wanted.memory_bytes == 200 * MIB  # swap limit = memory: no swap
    assert wanted.user == "10001:10001" and wanted.read_only and wanted.pids_limit == 1024
    assert wanted.publish == {8080: ("127.0.0.1", 4100)}
    assert wanted.network is None  # the engine's bridge, never the host network
    assert [(m.source, m.target, m.read_only) for m in wanted.mounts] == [
        (str(tmp_path), "/mnt/models", True)
    ]
    assert wanted.env["MODEL_FILES_PATH"] == "/mnt/models"
    assert wanted.env["SCRIPT_PATH"] == "/mnt/models/predictor.py"
    assert wanted.env["OMP_NUM_THREADS"] == "1"  # thread pools sized to the CPU limit
    assert wanted.command[-2:] == ["--script", "/mnt/models/predictor.py"]
    labels = wanted.labels
    assert (labels["io.shipyard.project"], labels["io.shipyard.deployment"]) == ("proj-1", "dep-1")
    assert (labels["io.shipyard.component"], labels["io.shipyard.revision"]) == ("predictor", "3")


async def test_a_replica_starts_in_the_background_and_its_container_is_labelled(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    assert (await backend.health(ref)).health is Health.STARTING  # building
    await settle(backend, engine, ref)
    (state,) = engine.containers({"io.shipyard.role": "replica"})
    assert state.labels["io.shipyard.replica"] == ref.replica_id
    assert engine.requests[state.id].image == ref.extra["image"]
    assert applied(state) == "engine applied 0.5 cores, 200 MiB (no swap)"
    await backend.close()


async def test_an_oom_kill_is_reported_with_the_limit_and_the_observed_peak(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    engine.stats_[f"id-{ref.extra['container']}"] = ContainerStats(
        cpu_ns=2_000_000_000, memory_bytes=150 * MIB, memory_peak_bytes=190 * MIB,
        memory_limit_bytes=200 * MIB,
    )  # fmt: skip
    for _ in range(100):
        usage = backend.usage(ref)
        if usage is not None:
            break
        await asyncio.sleep(0.01)
    assert usage is not None and usage.cpu_seconds == 2.0 and usage.memory_peak_bytes == 190 * MIB
    engine.exit(ref.extra["container"], 137, oom=True)
    health = await backend.health(ref)
    assert health.health is Health.EXITED and health.exit is not None
    assert health.exit.reason == "OOMKilled"
    assert health.exit.message.startswith("memory limit 200 MiB exceeded (peak 200 MiB)")
    await backend.close()


async def test_a_kill_without_oom_is_reported_as_the_signal(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    engine.exit(ref.extra["container"], 137)
    health = await backend.health(ref)
    assert health.exit is not None and (health.exit.reason, health.exit.signal) == ("Killed", 9)
    await backend.close()


async def test_a_failed_build_fails_the_replica_with_the_builders_words_once(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(
        images_={BASE: {}}, build_exit=1, build_lines=["error: No solution found: foo==9"]
    )
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    health = await backend.health(ref)
    assert health.exit is not None and health.exit.reason == "ImageBuildFailed"
    assert "No solution found: foo==9" in health.exit.message
    again = await backend.start(spec(tmp_path))  # a restart soon after: not built again
    await settle(backend, engine, again)
    second = await backend.health(again)
    assert second.exit is not None and "foo==9" in second.exit.message
    builds = [n for n in engine.removed if n.startswith("shipyard-build-")]
    assert len(builds) == 1
    await backend.close()


async def test_a_missing_base_image_names_the_bootstrap_command(tmp_path: Path) -> None:
    engine = FakeEngine()
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    health = await backend.health(ref)
    assert health.exit is not None
    assert "shipyard images bootstrap --tag python:3.11-slim" in health.exit.message
    await backend.close()


async def test_with_a_registry_images_are_tagged_for_it_and_pushed(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine, registry="127.0.0.1:5000")
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    assert ref.extra["image"].startswith("127.0.0.1:5000/shipyard/env:embedded-")
    assert engine.pushed == [ref.extra["image"]]
    labels = engine.image_labels(ref.extra["image"]) or {}
    assert labels["io.shipyard.environment.base"] == "shipyard/python"
    await backend.close()


async def test_stop_removes_the_container_and_keeps_its_logs(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    engine.log_lines[f"id-{ref.extra['container']}"] = ["loaded iris"]
    exit_ = await backend.stop(ref, grace_s=1)
    assert exit_.reason == "Completed"
    assert engine.containers({}) == []
    lines = backend.logs("dep-1", "predictor", 10)
    assert [(x.replica_id, x.line) for x in lines][-1] == (ref.replica_id, "loaded iris")
    backend.forget_logs("dep-1")
    assert backend.logs("dep-1", "predictor", 10) == []
    await backend.close()


async def test_a_new_server_adopts_only_its_own_scope(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    first = make(tmp_path, engine)
    ref = await first.start(spec(tmp_path))
    await settle(first, engine, ref)
    await first.close()
    second = make(tmp_path, engine)
    (adopted,) = await second.list_replicas()
    assert (adopted.replica_id, adopted.url, adopted.revision) == (ref.replica_id, ref.url, 3)
    stranger = DockerBackend(engine=engine, images=second._images, scope="scope-2", capacity=None)
    assert await stranger.list_replicas() == []
    await second.close()
    await stranger.close()


def test_a_container_without_our_labels_is_not_adopted(tmp_path: Path) -> None:
    engine = FakeEngine(images_={"img": {}})
    wanted = container_request(spec(tmp_path), "img", "s", ("127.0.0.1", 1), [])
    state = engine.run(wanted)
    assert ref_from(state, "127.0.0.1") is not None
    bare = engine.run(
        ContainerRequest(name="other", image="img", command=[], env={}, labels={"a": "b"})
    )
    assert ref_from(bare, "127.0.0.1") is None


def test_the_build_script_syncs_a_lock_and_installs_pins() -> None:
    locked = ImageRecipe(key="k", base="b", base_image=BASE, packages=("a==1",))
    assert "uv pip sync /build/requirements.txt" in build_script(locked)
    pins = ImageRecipe(
        key="k", base="b", base_image=BASE, packages=("a==1",), locked=False, index_url="http://i"
    )
    script = build_script(pins)
    assert "uv pip install -r /build/requirements.txt" in script
    assert "--index-url http://i" in script and "--compile-bytecode" in script


def test_recipes_come_from_the_environment_manifest_or_the_servers_packages(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "shipyard-environment.json").write_text(
        json.dumps({"key": "k1", "base": "shipyard/python", "image": BASE,
                    "lock": "# comment\nnumpy==2.0.0\n"})
    )  # fmt: skip
    recipe = environment_recipe(venv / "bin" / "python", None)
    assert (recipe.key, recipe.packages, recipe.locked) == ("k1", ("numpy==2.0.0",), True)
    embedded = embedded_recipe("sklearn", BASE, None)
    assert any(p.startswith("scikit-learn==") for p in embedded.packages)
    assert not embedded.locked and embedded.key.startswith("embedded-")
    with pytest.raises(ModelServeError, match="manifest"):
        environment_recipe(tmp_path / "nowhere" / "bin" / "python", None)


async def test_a_build_container_left_by_a_dead_server_is_removed_at_recovery(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(images_={BASE: {}})
    engine.run(
        ContainerRequest(
            name="shipyard-build-k-1",
            image=BASE,
            command=[],
            env={},
            labels={"io.shipyard.scope": "scope-1", "io.shipyard.role": "build"},
        )
    )
    backend = make(tmp_path, engine)
    assert await backend.list_replicas() == []
    assert engine.removed == ["shipyard-build-k-1"]
    await backend.close()


async def test_a_replica_stopped_while_its_image_builds_never_gets_a_container(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(images_={BASE: {}}, gate=threading.Event())
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    stopping = asyncio.create_task(backend.stop(ref, grace_s=1))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the launch to finish
    assert engine.gate is not None
    engine.gate.set()
    exit_ = await asyncio.wait_for(stopping, timeout=10)
    assert exit_.message == "stopped before start"
    assert engine.containers({"io.shipyard.role": "replica"}) == []
    await backend.close()


async def test_gpus_come_from_the_shared_inventory_as_device_requests(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    inventory = GpuInventory(["0", "1"])
    gpu_backend = DockerBackend(
        engine=engine, images=ImageBuilder(engine, tmp_path / "uv", tmp_path / "c", tmp_path / "b"),
        scope="scope-1", capacity=None, gpus=inventory,
    )  # fmt: skip
    (tmp_path / "uv").write_text("")
    limits = Resources(cores=1, memory=256, gpus=1)
    one = dataclasses.replace(
        spec(tmp_path), resources=ComponentResources(requests=limits, limits=limits)
    )
    ref = await gpu_backend.start(one)
    await settle(gpu_backend, engine, ref)
    (state,) = engine.containers({"io.shipyard.replica": ref.replica_id})
    wanted = engine.requests[state.id]
    assert wanted.gpus == ("0",) and wanted.env["CUDA_VISIBLE_DEVICES"] == "0"
    assert inventory.free() == ["1"]  # exclusive: LOCAL cannot hand it out meanwhile
    await gpu_backend.stop(ref, grace_s=1)
    assert inventory.free() == ["0", "1"]
    await gpu_backend.close()


async def test_a_container_with_another_token_is_adopted_as_outdated(tmp_path: Path) -> None:
    """A server whose secret changed adopts its containers with an outdated template, so the
    controller replaces them (they hold the old token); the same secret adopts them as they are."""
    engine = FakeEngine(images_={BASE: {}})

    def server(secret: str) -> DockerBackend:
        return make(tmp_path, engine, tokens=ContainerTokens(secret, tmp_path / "tokens"))

    first = server("old")
    ref = await first.start(spec(tmp_path))
    await settle(first, engine, ref)
    (state,) = engine.containers({"io.shipyard.replica": ref.replica_id})
    digest = ReplicaTokens("old").digest("proj-1")
    assert state.labels[f"io.shipyard.{DIGEST_KEY}"] == digest
    assert "old" not in json.dumps(state.labels)  # the digest, never the token
    await first.close()
    same, changed = server("old"), server("new")
    (kept,) = await same.list_replicas()
    assert kept.template == "tmpl" and kept.extra[DIGEST_KEY] == digest
    (outdated,) = await changed.list_replicas()
    assert outdated.template == OUTDATED + "tmpl"
    await same.close()
    await changed.close()


async def test_an_adopted_container_keeps_its_gpus(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    (tmp_path / "uv").write_text("")

    images = ImageBuilder(engine, tmp_path / "uv", tmp_path / "c", tmp_path / "b")

    def server(inventory: GpuInventory) -> DockerBackend:
        return DockerBackend(
            engine=engine, images=images, scope="scope-1", capacity=None, gpus=inventory
        )

    first = server(GpuInventory(["0", "1"]))
    limits = Resources(cores=1, memory=256, gpus=1)
    one = dataclasses.replace(
        spec(tmp_path), resources=ComponentResources(requests=limits, limits=limits)
    )
    ref = await first.start(one)
    await settle(first, engine, ref)
    await first.close()
    inventory = GpuInventory(["0", "1"])
    restarted = server(inventory)
    (adopted,) = await restarted.list_replicas()
    assert adopted.extra["gpus"] == "0"
    assert inventory.free() == ["1"]  # not handed out a second time after the restart
    await restarted.close()
