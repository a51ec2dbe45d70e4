"""The DOCKER backend against a real engine: containers, exact limits, exits, adoption."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from shipyard.backends.docker.backend import DockerBackend, scope_of
from shipyard.backends.docker.images import ImageBuilder
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
