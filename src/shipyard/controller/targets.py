"""What each component of a deployment should be now: instance count, template, environment.

:meth:`Targets.of` gives the plan its targets for a deployment whose backend runs single
replicas; a deployment whose backend owns whole components is handed to
:mod:`~shipyard.controller.components` right there (the plan never sees it).

For every component: the instances wanted now (the spec's fixed count, or the pure autoscaler's
decision over the deployment's traffic samples), the template (a digest of what its replicas
run) and, while the deployment runs, its environment (asked of the environment manager, which
never blocks). Results are written to the deployment's
:class:`~shipyard.controller.state.ComponentState`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from shipyard.backends.registry import BackendRegistry, ComponentShape
from shipyard.controller.autoscale import decide, initial_state
from shipyard.controller.components import component_spec, reconcile_components
from shipyard.controller.environments import EnvironmentRequests
from shipyard.controller.plan import ComponentTarget
from shipyard.controller.state import Managed
from shipyard.controller.tracking import template_hash
from shipyard.environments.manager import EnvironmentManager
from shipyard.errors import InvalidSpec, NotFound
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.environment import EnvironmentInfo, EnvironmentPhase
from shipyard.spec.scaling import ScalingConfig, effective_scaling
from shipyard.spec.status import ReplicaPhase
from shipyard.store import ModelVersionRecord, Store


def forgive_fixed_slots(managed: Managed, current: dict[str, str]) -> None:
    """Failures of a slot stop counting once it is fixed: a replica of the current template is
    READY in it, the current template is another one than the one that failed (an update or a
    rollback), or the deployment does not run (a start begins afresh)."""
    ready = {
        (t.ref.component, t.ref.slot)
        for t in managed.live()
        if t.phase is ReplicaPhase.READY and t.ref.template == current.get(t.ref.component)
    }
    for (component, slot), record in managed.slots.items():
        stale = record.template is not None and record.template != current.get(component)
        if not managed.running or stale or (component, slot) in ready:
            record.forgive()


def scaling_of(spec: DeploymentSpec, component: Component) -> ScalingConfig | None:
    """The autoscaling settings of a component (None: a fixed count)."""
    if component is Component.TRANSFORMER:
        t = spec.transformer
        return effective_scaling(t.resources, t.scaling) if t is not None else None
    return effective_scaling(spec.predictor.resources, spec.predictor.scaling)


NOT_ASKED = (-1, None)
"""The environment stamp of a component looked up but never asked for (no spec has it, so
the first start asks, retrying a failed build)."""


class Targets:
    """Decides instance counts and follows environments, per component."""

    def __init__(
        self,
        *,
        store: Store,
        backends: BackendRegistry,
        environments: EnvironmentManager | None,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._backends = backends
        self._environments = environments
        self._requests = EnvironmentRequests(environments) if environments else None
        self._clock = clock

    async def model_of(self, managed: Managed) -> ModelVersionRecord:
        record = managed.record
        assert record is not None
        if managed.model is None:
            spec = record.spec.predictor
            managed.model = await asyncio.to_thread(
                self._store.get_model_version,
                record.project_id,
                spec.model_name,
                spec.model_version,
            )
        return managed.model

    async def of(self, managed: Managed) -> list[ComponentTarget]:
        """The plan's targets of a replica-shaped deployment (a component-shaped one is
        reconciled here, whole); records an init error instead when its model is missing."""
        managed.init_error = None
        record = managed.record
        if record is None:
            return []
        try:
            model = await self.model_of(managed)
            if not Path(model.storage_path).is_dir():
                raise NotFound(
                    f"the files of model {model.model_name} v{model.version} are missing"
                )
            shape = self._backends.get(record.spec.serving_tool)
        except (NotFound, InvalidSpec) as exc:
            managed.init_error = exc.message
            return []
        counts = self.decide(managed, model)
        templates = {c: template_hash(record.spec, c, model.storage_path) for c in counts}
        if isinstance(shape, ComponentShape):
            specs = {
                c: component_spec(record, model, c, templates[c], n, managed)
                for c, n in counts.items()
            }
            await reconcile_components(managed, shape.backend, shape.tool, specs)
            return []
        forgive_fixed_slots(managed, {c.value: t for c, t in templates.items()})
        return [ComponentTarget(record.id, c.value, n, templates[c]) for c, n in counts.items()]

    async def current_templates(self, managed: Managed) -> dict[str, str]:
        record = managed.record
        assert record is not None
        try:
            model = await self.model_of(managed)
        except NotFound:
            return {}
        return {
            c.value: template_hash(record.spec, c, model.storage_path)
            for c in record.spec.components()
        }

    def decide(self, managed: Managed, model: ModelVersionRecord) -> dict[Component, int]:
        """Instances wanted now per component (0 for all when the deployment does not run);
        follows each running component's environment on the way."""
        record = managed.record
        assert record is not None
        running = managed.running
        if running:
            managed.started_before = True
        out: dict[Component, int] = {}
        for component, fixed in record.spec.components().items():
            state = managed.component(component)
            if running:
                state.desired = self._instances(managed, component, fixed)
                self._environment(managed, component, Path(model.storage_path))
            else:
                state.desired, state.scale, state.scale_note = 0, None, None
                if state.environment_stamp is None:  # not running since the server started:
                    state.environment_stamp = NOT_ASKED  # say once what it ran in, build nothing
                    self._environment(managed, component, Path(model.storage_path), build=False)
            out[component] = state.desired
        return out

    def _instances(self, managed: Managed, component: Component, fixed: int) -> int:
        """How many instances of a component to run now: fixed, or the autoscaler's choice."""
        assert managed.record is not None
        config = scaling_of(managed.record.spec, component)
        state = managed.component(component)
        if config is None:
            state.scale, state.scale_note = None, None
            return fixed
        now = self._clock()
        starting = sum(
            1
            for t in managed.replicas.values()
            if t.ref.component == component.value and t.phase is ReplicaPhase.STARTING
        )
        decision = decide(
            config,
            state.scale or initial_state(fixed, now),
            managed.traffic.samples(),
            now=now,
            starting=starting,
        )
        state.scale = decision.state
        state.scale_note = (
            f"{component.value} autoscaling ({config.min_instances}..{config.max_instances}): "
            f"{decision.desired} instance(s), {decision.reason}"
        )
        return decision.desired

    def _environment(
        self, managed: Managed, component: Component, model_dir: Path, *, build: bool = True
    ) -> None:
        """Ask for (or follow) the environment of one component; with ``build`` False, only
        look up the one it had."""
        if self._environments is None or self._requests is None:
            return
        record = managed.record
        assert record is not None
        state = managed.component(component)
        try:
            request = self._requests.of(record.spec, component, model_dir)
        except InvalidSpec as exc:
            state.environment = EnvironmentInfo(phase=EnvironmentPhase.FAILED, message=exc.message)
            return
        if request is None:
            state.environment = None
            return
        if not build:
            state.environment = self._environments.known(request)
            return
        stamp = (record.revision, record.updated_at)
        retry = state.environment_stamp != stamp  # a changed or restarted deployment retries
        state.environment_stamp = stamp
        state.environment = self._environments.status(request, retry=retry)
