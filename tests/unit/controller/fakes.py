"""Fakes the controller's unit tests share: a store with just what the controller uses, a
clock the test moves, and helpers to run passes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from shipyard.backends.fake import FakeBackend
from shipyard.backends.registry import BackendRegistry
from shipyard.controller.reconcile import Controller
from shipyard.errors import NotFound
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec, ServingTool
from shipyard.spec.resources import PredictorResources
from shipyard.spec.status import DeploymentStatus
from shipyard.store import DeploymentRecord, ModelVersionRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryStore:
    """Just what the controller reads and writes."""

    def __init__(self, model_dir: Path) -> None:
        self.deployments: dict[str, DeploymentRecord] = {}
        self.statuses: dict[str, DeploymentStatus] = {}
        self.model_dir = model_dir
        self.purged: list[str] = []

    def add(
        self,
        name: str,
        instances: int,
        *,
        model: str = "m",
        active: bool = True,
        resources: PredictorResources | None = None,
        tool: ServingTool = ServingTool.LOCAL,
    ) -> str:
        resources = (resources or PredictorResources()).model_copy(
            update={"num_instances": instances}
        )
        predictor = PredictorSpec(model_name=model, model_version=1, resources=resources)
        spec = DeploymentSpec(name=name, predictor=predictor, serving_tool=tool)
        record = DeploymentRecord(
            id=f"id-{name}", project_id="p", name=name, spec=spec, revision=1, active=active,
            deleting=False, created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        self.deployments[record.id] = record
        return record.id

    def update(self, dep_id: str, **changes) -> None:
        self.deployments[dep_id] = self.deployments[dep_id].model_copy(update=changes)

    def list_deployments(self, project_id=None):
        return list(self.deployments.values())

    def get_statuses(self, ids):
        return {i: self.statuses[i] for i in ids if i in self.statuses}

    def save_status(self, dep_id, status):
        self.statuses[dep_id] = status

    def get_model_version(self, project_id, name, version):
        if name != "m":
            raise NotFound(f"model {name!r} version {version} not found")
        return ModelVersionRecord(
            id="mv", project_id=project_id, model_name=name, version=1, framework="sklearn",
            description="", metrics={}, input_example=None, checksum="sha256:x", size_bytes=1,
            files=["model.joblib"], storage_path=str(self.model_dir), created_at=NOW,
        )  # fmt: skip

    def key_hashes(self):
        return {"h": "p"}

    def purge_deployment(self, dep_id):
        self.purged.append(dep_id)
        self.deployments.pop(dep_id)


def local(backend: FakeBackend) -> BackendRegistry:
    """A registry whose LOCAL tool runs replicas on ``backend``."""
    return BackendRegistry.of(replicas={ServingTool.LOCAL: backend})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(controller: Controller, passes: int = 3) -> None:
    for _ in range(passes):
        await controller.reconcile_once()
        await asyncio.sleep(0)
    if controller.stopping:  # let background stops finish, then observe once more
        await asyncio.gather(*controller.stopping)
        await controller.reconcile_once()
