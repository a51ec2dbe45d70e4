"""The DOCKER backend against a real engine: containers, exact limits, exits, adoption."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uv

from shipyard.backends.docker.backend import DockerBackend, scope_of
from shipyard.backends.docker.images import ImageBuilder, ImageRecipe
from shipyard.backends.docker.sdk import DockerEngine
from shipyard.backends.protocol import Health
from tests.integration.docker.helpers import replica_spec, wait_health

pytestmark = [pytest.mark.integration, pytest.mark.docker]
SAMPLES = [[6.8, 2.8, 4.8, 1.4], [5.1, 3.5, 1.4, 0.2]]


@pytest.fixture
async def backend(
    engine: DockerEngine, builder: ImageBuilder, tmp_path: Path
) -> AsyncIterator[DockerBackend]:
    scope = scope_of(str(tmp_path))
    made = DockerBackend(
        engine=engine, images=builder, scope=scope, capacity=None, stats_interval_s=0.5
    )
    yield made
    for ref in await made.list_replicas():
        await made.stop(ref, grace_s=1)
    await made.close()
    assert engine.containers({"io.shipyard.scope": scope}) == []


async def test_iris_container_answers_v1_and_v2_with_exact_limits(
    backend: DockerBackend, engine: DockerEngine, iris_model: Path
) -> None:
    spec = replica_spec(iris_model, cores=0.5, memory=300)
    ref = await backend.start(spec)
    await wait_health(backend, ref, Health.READY)
    async with httpx.AsyncClient(base_url=ref.url, timeout=30) as client:
        v1 = await client.post("/v1/models/iris:predict", json={"instances": SAMPLES})
        assert v1.status_code == 200, v1.text
        assert v1.json()["predictions"] == [1, 0]
        body = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64",
                            "data": [v for row in SAMPLES for v in row]}]}  # fmt: skip
        v2 = await client.post("/v2/models/iris/infer", json=body)
        assert v2.status_code == 200, v2.text
        assert v2.json()["outputs"][0]["data"] == [1, 0]
    state = engine.inspect(ref.extra["container"])
    assert state is not None and state.running
    assert state.nano_cpus == 500_000_000
    assert state.memory_bytes == state.memory_swap_bytes == 300 * 1024 * 1024
    assert state.labels["io.shipyard.deployment"] == spec.deployment_id
    assert state.labels["io.shipyard.project"] == spec.project_id
    assert state.labels["io.shipyard.component"] == "predictor"
    assert state.labels["io.shipyard.revision"] == "1"
    assert list(state.ports) == ["8080/tcp"]
    assert ref.url.startswith("http://127.0.0.1:")
    assert state.user == "10001:10001"
    assert state.read_only and not state.privileged and state.cap_drop == ("ALL",)
    assert state.network_mode not in {"host", ""} and state.port_hosts == ("127.0.0.1",)
    assert state.mounts == (("/mnt/models", False),)
    sample = None
    for _ in range(50):
        sample = backend.usage(ref)
        if sample is not None:
            break
        await asyncio.sleep(0.2)
    assert sample is not None and sample.memory_bytes and sample.cpu_seconds is not None
    assert "0.5 cores" in sample.note and "300 MiB" in sample.note and "no swap" in sample.note
    exit_ = await backend.stop(ref, grace_s=5)
    assert exit_.reason in {"Completed", "Terminated", "Signaled", "Error"}, exit_
    assert engine.inspect(ref.extra["container"]) is None
    lines = backend.logs(spec.deployment_id, "predictor", 200)
    assert lines and {line.replica_id for line in lines} == {ref.replica_id}


def write_model(folder: Path, script: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predictor.py").write_text(script)
    return folder


HOG = """
class Predictor:
    def __init__(self):
        self.blob = b"x" * (600 * 1024 * 1024)  # filled: every page resident

    def predict(self, inputs):
        return inputs
"""

BUSY = """
import threading

def spin():
    while True:
        pass

class Predictor:
    def __init__(self):
        threading.Thread(target=spin, daemon=True).start()

    def predict(self, inputs):
        return inputs
"""


async def test_a_model_over_its_memory_limit_is_reported_oomkilled_with_limit_and_peak(
    backend: DockerBackend, tmp_path: Path
) -> None:
    model = write_model(tmp_path / "hog", HOG)
    ref = await backend.start(replica_spec(model, name="hog", memory=200, framework="python"))
    deadline = time.monotonic() + 120
    health = await backend.health(ref)
    while health.health is not Health.EXITED and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        health = await backend.health(ref)
    assert health.health is Health.EXITED and health.exit is not None
    assert health.exit.reason == "OOMKilled", health.exit
    assert health.exit.code == 137
    assert "memory limit 200 MiB exceeded (peak 2" in health.exit.message


async def test_half_a_core_limit_measures_about_half_a_core(
    backend: DockerBackend, engine: DockerEngine, tmp_path: Path
) -> None:
    model = write_model(tmp_path / "busy", BUSY)
    ref = await backend.start(replica_spec(model, name="busy", cores=0.5, framework="python"))
    await wait_health(backend, ref, Health.READY)

    async def sample() -> tuple[float, float]:
        first = backend.usage(ref)
        for _ in range(100):  # the next poll (every 0.5 s)
            await asyncio.sleep(0.1)
            now = backend.usage(ref)
            if now is not None and now.cpu_seconds != (first and first.cpu_seconds):
                return time.monotonic(), float(now.cpu_seconds or 0.0)
        raise AssertionError("no new stats sample in 10 s")

    t0, c0 = await sample()
    await asyncio.sleep(4)
    t1, c1 = await sample()
    cores = (c1 - c0) / (t1 - t0)
    stats = engine.stats(ref.extra["container"])
    assert stats is not None
    print(f"0.5-core container used {cores:.2f} cores, throttled {stats.throttled_periods} times")
    assert cores <= 0.6, cores  # the quota holds whatever else runs here
    assert stats.throttled_periods > 0  # the quota, not a lack of work, held it back
    assert cores >= 0.25, cores  # about half a core (less only when the machine is busy)


async def test_a_restarted_server_adopts_its_containers_by_label(
    backend: DockerBackend, engine: DockerEngine, builder: ImageBuilder, iris_model: Path
) -> None:
    ref = await backend.start(replica_spec(iris_model))
    await wait_health(backend, ref, Health.READY)
    scope = engine.inspect(ref.extra["container"]).labels["io.shipyard.scope"]  # type: ignore[union-attr]
    other = DockerBackend(engine=engine, images=builder, scope="someone-else", capacity=None)
    assert await other.list_replicas() == []
    again = DockerBackend(engine=engine, images=builder, scope=scope, capacity=None)
    try:
        (adopted,) = await again.list_replicas()
        assert (adopted.replica_id, adopted.url, adopted.slot) == (ref.replica_id, ref.url, 0)
        assert (await again.health(adopted)).health is Health.READY
        assert len(engine.containers({"io.shipyard.scope": scope})) == 1
    finally:
        await again.close()
        await other.close()


async def test_an_image_that_cannot_be_built_fails_the_replica_with_the_builders_reason(
    backend: DockerBackend, iris_model: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venvs" / "broken"
    (venv / "bin").mkdir(parents=True)
    (venv / "shipyard-environment.json").write_text(
        json.dumps({"key": "broken0000000000", "base": "shipyard/python",
                    "image": "python:3.11-slim", "lock": "shipyard-no-such-package==9.9.9\n"})
    )  # fmt: skip
    spec = replica_spec(iris_model, python=str(venv / "bin" / "python"))
    ref = await backend.start(spec)
    deadline = time.monotonic() + 120
    health = await backend.health(ref)
    while health.health is Health.STARTING and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        health = await backend.health(ref)
    assert health.health is Health.EXITED and health.exit is not None
    assert health.exit.reason == "ImageBuildFailed"
    assert "shipyard-no-such-package" in health.exit.message
    lines = [line.line for line in backend.logs(spec.deployment_id, "predictor", 100)]
    assert any("building shipyard/env:broken" in line for line in lines)


VERSION = """
import sklearn

class Predictor:
    def predict(self, inputs):
        return [sklearn.__version__ for _ in inputs]
"""


def locked_environment(root: Path, key: str, requirements: str) -> str:
    """A built environment as the environment builder leaves it: a venv folder whose manifest
    holds the lock (resolved here with uv for Python 3.11); its ``python``."""
    done = subprocess.run(
        [uv.find_uv_bin(), "pip", "compile", "-", "--python-version", "3.11", "--no-header",
         "--no-annotate", "--quiet"],
        input=requirements, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    venv = root / key
    (venv / "bin").mkdir(parents=True)
    manifest = {"key": key, "base": "shipyard/python", "image": "python:3.11-slim"}
    (venv / "shipyard-environment.json").write_text(json.dumps({**manifest, "lock": done.stdout}))
    return str(venv / "bin" / "python")


async def test_two_scikit_learn_versions_run_side_by_side_in_two_images(
    backend: DockerBackend, engine: DockerEngine, tmp_path: Path
) -> None:
    model = write_model(tmp_path / "version", VERSION)
    refs = {}
    for version, extra in (("1.3.2", "numpy<2\n"), ("1.5.2", "")):
        python = locked_environment(
            tmp_path / "venvs", f"sklearn-{version}", f"scikit-learn=={version}\n{extra}"
        )
        spec = replica_spec(model, name=f"v{version.replace('.', '')}", python=python,
                            framework="python")  # fmt: skip
        refs[version] = await backend.start(spec)
    for version, ref in refs.items():
        await wait_health(backend, ref, Health.READY, timeout=400)
        async with httpx.AsyncClient(base_url=ref.url, timeout=30) as client:
            name = ref.replica_id.split("-p0-")[0]
            answer = await client.post(f"/v1/models/{name}:predict", json={"instances": [[1]]})
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == [version]
    images = {ref.extra["image"] for ref in refs.values()}
    assert len(images) == 2
    labels = [engine.image_labels(image) or {} for image in sorted(images)]
    assert [x["io.shipyard.environment.key"] for x in labels] == ["sklearn-1.3.2", "sklearn-1.5.2"]
    assert len({x["io.shipyard.environment.lock"] for x in labels}) == 2


def test_a_real_build_goes_through_every_step_and_reports_it(
    builder: ImageBuilder, engine: DockerEngine, base_image: str
) -> None:
    key = f"steps-{uuid.uuid4().hex[:12]}"  # a new key: a real build, never a cached image
    recipe = ImageRecipe(key=key, base="shipyard/python", base_image=base_image,
                         packages=("idna==3.20",))  # fmt: skip
    tag = builder.tag(recipe)
    seen: list[tuple[str, str | None]] = []
    try:
        assert (
            builder.ensure(recipe, lambda line: seen.append((line, builder.progress(tag)))) == tag
        )
    finally:
        engine.remove_image(tag)
    steps = [line for line, _ in seen if line.startswith("step ")]
    assert [s.split(":")[0] for s in steps] == [f"step {i}/5" for i in range(1, 6)], steps
    assert "installing 1 locked package with uv" in steps[1]
    for line, progress in seen:  # while it built, waiting replicas saw the step it was in
        if line in steps:
            assert progress == f"building image {tag}: {line}"
    assert any("idna" in line for line, _ in seen)  # uv's own lines, between the steps
    assert builder.progress(tag) is None
