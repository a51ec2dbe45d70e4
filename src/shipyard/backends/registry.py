"""Which backend runs each serving tool, and in which shape (built by the composition root).

A deployment names its serving tool; the controller asks this registry for the tool's backend.
Two shapes (see :mod:`shipyard.backends.protocol`): a :class:`ReplicaBackend` runs single
replicas the controller plans (LOCAL, DOCKER); a :class:`ComponentBackend` owns a whole
component and reports its replicas (KUBERNETES, KSERVE). Adding a backend is one ``add_*`` call
in ``shipyard.server``; the controller and the API need no change.

Replica tools that run on the same machine share one node inventory: registered with the same
``node`` (LOCAL, and DOCKER when its engine is local), their replicas' requests are counted
together against it (:meth:`BackendRegistry.node_of`), so the two never book the node twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.backends.protocol import ComponentBackend, LogLine, ReplicaBackend
from shipyard.errors import InvalidSpec
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool


@dataclass(frozen=True)
class ReplicaShape:
    """A tool whose replicas the controller plans one by one."""

    tool: ServingTool
    backend: ReplicaBackend


@dataclass(frozen=True)
class ComponentShape:
    """A tool that runs whole components and reports their replicas."""

    tool: ServingTool
    backend: ComponentBackend


Shape = ReplicaShape | ComponentShape


class BackendRegistry:
    """Serving tool -> its backend (each tool at most once)."""

    def __init__(self) -> None:
        self._shapes: dict[ServingTool, Shape] = {}
        self._nodes: dict[ServingTool, str] = {}

    @classmethod
    def of(
        cls,
        replicas: dict[ServingTool, ReplicaBackend] | None = None,
        components: dict[ServingTool, ComponentBackend] | None = None,
    ) -> BackendRegistry:
        registry = cls()
        for tool, backend in (replicas or {}).items():
            registry.add_replicas(tool, backend)
        for tool, component_backend in (components or {}).items():
            registry.add_components(tool, component_backend)
        return registry

    def add_replicas(
        self, tool: ServingTool, backend: ReplicaBackend, *, node: str | None = None
    ) -> None:
        """Register a backend that runs single replicas for ``tool`` (``node``: the name of
        the machine inventory it shares with other tools registered with the same name)."""
        self._add(ReplicaShape(tool, backend))
        if node is not None:
            self._nodes[tool] = f"node:{node}"

    def add_components(self, tool: ServingTool, backend: ComponentBackend) -> None:
        """Register a backend that owns whole components for ``tool``."""
        self._add(ComponentShape(tool, backend))

    def _add(self, shape: Shape) -> None:
        if shape.tool in self._shapes:
            raise ValueError(f"serving tool {shape.tool.value} already has a backend")
        self._shapes[shape.tool] = shape

    @property
    def tools(self) -> frozenset[ServingTool]:
        """The serving tools this server can run."""
        return frozenset(self._shapes)

    def find(self, tool: ServingTool) -> Shape | None:
        return self._shapes.get(tool)

    def get(self, tool: ServingTool) -> Shape:
        """The backend of ``tool``.

        Raises:
            InvalidSpec: This server has no backend for ``tool``.
        """
        shape = self._shapes.get(tool)
        if shape is None:
            known = ", ".join(sorted(t.value for t in self._shapes)) or "none"
            raise InvalidSpec(
                f"serving tool {tool.value} has no backend on this server yet; use one of: {known}"
            )
        return shape

    def replica_shapes(self) -> list[ReplicaShape]:
        return [s for s in self._shapes.values() if isinstance(s, ReplicaShape)]

    def component_shapes(self) -> list[ComponentShape]:
        return [s for s in self._shapes.values() if isinstance(s, ComponentShape)]

    def node_of(self, tool: ServingTool) -> str:
        """The inventory ``tool``'s replicas draw from: a shared ``node`` name given at
        registration, else the tool's own."""
        return self._nodes.get(tool, f"tool:{tool.value}")

    def capacity(self, tool: ServingTool) -> Capacity | None:
        """What ``tool``'s node (or quota) can hand out; None when unknown or not limited."""
        shape = self._shapes.get(tool)
        return shape.backend.capacity() if shape is not None else None

    def logs(
        self, tool: ServingTool | None, deployment_id: str, component: str, tail: int
    ) -> list[LogLine]:
        """Log lines of a component's replicas (every backend's when the tool is unknown)."""
        found = self._shapes.get(tool) if tool is not None else None
        shapes = [found] if found is not None else list(self._shapes.values())
        return [line for s in shapes for line in s.backend.logs(deployment_id, component, tail)]

    def forget_logs(self, deployment_id: str) -> None:
        for shape in self._shapes.values():
            shape.backend.forget_logs(deployment_id)

    async def close(self) -> None:
        for shape in self._shapes.values():
            await shape.backend.close()
