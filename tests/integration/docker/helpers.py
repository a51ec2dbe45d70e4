"""Replica specs and bounded waits for the DOCKER backend tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from shipyard.backends.docker.backend import DockerBackend
from shipyard.backends.protocol import Health, ReplicaHealth, ReplicaRef, ReplicaSpec
from shipyard.spec.resources import ComponentResources, Resources


def replica_spec(
    model_dir: Path,
    *,
    name: str = "iris",
    cores: float = 1.0,
    memory: int = 512,
    script: str | None = "predictor.py",
    framework: str = "sklearn",
    python: str | None = None,
    slot: int = 0,
) -> ReplicaSpec:
    limits = Resources(cores=cores, memory=memory)
    return ReplicaSpec(
        replica_id=f"{name}-p{slot}-{uuid.uuid4().hex[:8]}",
        deployment_id=f"dep-{name}",
        deployment_name=name,
        project_id="project-1",
        component="predictor",
        slot=slot,
        revision=1,
        template="t1",
        model_name=name,
        model_version=1,
        model_dir=model_dir,
        framework=framework,
        script_file=script,
        resources=ComponentResources(num_instances=1, requests=limits, limits=limits),
        python=python,
    )


async def wait_health(
    backend: DockerBackend, ref: ReplicaRef, wanted: Health, timeout: float = 180
) -> ReplicaHealth:
    """Poll ``health`` until it says ``wanted`` (bounded); fail on an unexpected exit."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await backend.health(ref)
        if last.health is wanted:
            return last
        if last.health is Health.EXITED:
            raise AssertionError(f"{ref.replica_id} exited: {last.exit}")
        await asyncio.sleep(0.2)
    raise AssertionError(f"{ref.replica_id} not {wanted} after {timeout}s (last: {last})")
