"""Everything the controller holds about one deployment, in one typed object.

The controller keeps a :class:`Managed` per deployment id: the desired state read from the store
on the last pass (record, model version), what it observed (replicas, slot failures), what it
decided (instances wanted now, autoscaling state, environments) and what it last said (status).
Forgetting a deployment is one ``del``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.backends.protocol import ComponentReport
from shipyard.controller.autoscale import ScaleState
from shipyard.controller.tracking import SlotRecord, Tracked
from shipyard.controller.traffic import TrafficSeries
from shipyard.spec.deployment import Component, DeploymentSpec, ServingTool
from shipyard.spec.environment import EnvironmentInfo
from shipyard.spec.status import DeploymentStatus, ReplicaPhase
from shipyard.store import DeploymentRecord, ModelVersionRecord


@dataclass
class ComponentState:
    """What the controller decided for one component of a deployment."""

    desired: int | None = None  # instances wanted now (None: not decided yet)
    environment: EnvironmentInfo | None = None  # None: runs in the server's interpreter
    environment_stamp: tuple[int, object] | None = None  # the spec it was asked for
    scale: ScaleState | None = None  # autoscaling state (None: a fixed count)
    scale_note: str | None = None  # the autoscaler's last decision, in words
    unschedulable: list[str] = field(default_factory=list)  # why starts wait for capacity


@dataclass
class Managed:
    """One deployment as the controller knows it."""

    id: str
    record: DeploymentRecord | None = None  # None: replicas adopted before its record was read
    model: ModelVersionRecord | None = None  # the model version the record names, once read
    replicas: dict[str, Tracked] = field(default_factory=dict)
    slots: dict[tuple[str, int], SlotRecord] = field(default_factory=dict)
    components: dict[str, ComponentState] = field(default_factory=dict)
    traffic: TrafficSeries = field(default_factory=TrafficSeries)
    limits_note: str | None = None  # e.g. why limits are enforced best-effort
    init_error: str | None = None  # why its targets could not be computed this pass
    status: DeploymentStatus | None = None  # the last status saved
    started_before: bool = False
    logger_problem: str | None = None  # why the gateway cannot deliver its inference log
    report: ComponentReport | None = None  # a component backend's deployment-wide facts

    @property
    def spec(self) -> DeploymentSpec | None:
        return self.record.spec if self.record is not None else None

    @property
    def tool(self) -> ServingTool | None:
        return self.record.spec.serving_tool if self.record is not None else None

    @property
    def running(self) -> bool:
        """Its replicas should run (active and not being deleted)."""
        return self.record is not None and self.record.active and not self.record.deleting

    def component(self, component: Component | str) -> ComponentState:
        return self.components.setdefault(Component(component).value, ComponentState())

    def slot(self, component: str, slot: int) -> SlotRecord:
        return self.slots.setdefault((component, slot), SlotRecord())

    def live(self) -> list[Tracked]:
        """Replicas starting or ready that the controller has not asked to stop."""
        return [
            t
            for t in self.replicas.values()
            if t.stop_reason is None and t.phase in (ReplicaPhase.STARTING, ReplicaPhase.READY)
        ]

    def desired(self) -> dict[str, int]:
        """Instances wanted now per component (the spec's counts until a pass decided)."""
        spec = self.spec
        fixed = {c.value: n for c, n in spec.components().items()} if spec is not None else {}
        return {
            name: decided
            if (decided := self.components.get(name, ComponentState()).desired) is not None
            else count
            for name, count in fixed.items()
        }
