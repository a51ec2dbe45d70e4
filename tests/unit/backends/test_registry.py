"""The backend registry: one backend per serving tool, in one of two shapes."""

from __future__ import annotations

import pytest

from shipyard.backends.fake import FakeBackend, FakeComponentBackend
from shipyard.backends.registry import BackendRegistry, ComponentShape, ReplicaShape
from shipyard.errors import InvalidSpec
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool

pytestmark = pytest.mark.unit


def test_each_tool_gets_its_shape_and_unknown_tools_are_named() -> None:
    local, cluster = FakeBackend(), FakeComponentBackend()
    registry = BackendRegistry.of(
        replicas={ServingTool.LOCAL: local}, components={ServingTool.KUBERNETES: cluster}
    )
    assert registry.get(ServingTool.LOCAL) == ReplicaShape(ServingTool.LOCAL, local)
    assert registry.get(ServingTool.KUBERNETES) == ComponentShape(ServingTool.KUBERNETES, cluster)
    assert registry.tools == {ServingTool.LOCAL, ServingTool.KUBERNETES}
    with pytest.raises(InvalidSpec, match=r"DOCKER has no backend.*KUBERNETES, LOCAL"):
        registry.get(ServingTool.DOCKER)
    assert registry.find(ServingTool.DOCKER) is None


def test_a_tool_is_registered_once() -> None:
    registry = BackendRegistry()
    registry.add_replicas(ServingTool.LOCAL, FakeBackend())
    with pytest.raises(ValueError, match="LOCAL already has a backend"):
        registry.add_components(ServingTool.LOCAL, FakeComponentBackend())


def test_capacity_is_the_tools_own() -> None:
    node = Capacity(cores=2, memory=1024, gpus=0)
    registry = BackendRegistry.of(replicas={ServingTool.LOCAL: FakeBackend(capacity=node)})
    assert registry.capacity(ServingTool.LOCAL) == node
    assert registry.capacity(ServingTool.KSERVE) is None
