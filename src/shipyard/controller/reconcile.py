"""The reconciler: one level-triggered pass compares desired and observed state and acts.

A pass reads every deployment from the store (desired), asks the backend how each replica is
doing (observed), plans with the pure ``plan`` function, applies the actions through the
backend, then publishes the gateway's routing table and each deployment's status. All side
effects go through the ``ReplicaBackend``; one deployment's trouble never stops a pass.
After a restart, ``recover`` rebuilds the observed state from ``backend.list()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipyard.backends.protocol import Health, ReplicaBackend, ReplicaSpec
from shipyard.controller.autoscale import ScaleState, decide, initial_state, wake
from shipyard.controller.environments import environment_request
from shipyard.controller.plan import ComponentTarget, StartReplica, StopReplica, plan
from shipyard.controller.routes import RoutePublisher
from shipyard.controller.scheduling import shortfall, total
from shipyard.controller.status import SlotFailure, StatusInputs, derive
from shipyard.controller.tracking import Observed, Tracked, component_resources, template_hash
from shipyard.controller.traffic import TrafficLog
from shipyard.environments.manager import EnvironmentManager
from shipyard.errors import InvalidSpec, NotFound
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Demand
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.spec.environment import EnvironmentInfo, EnvironmentPhase
from shipyard.spec.resources import ComponentResources
from shipyard.spec.scaling import ScalingConfig, effective_scaling
from shipyard.spec.status import DeploymentState, DeploymentStatus, ReplicaExit, ReplicaPhase
from shipyard.store import DeploymentRecord, ModelVersionRecord, Store

log = logging.getLogger("shipyard.controller")

_NEVER_STARTED = (DeploymentState.CREATED, DeploymentState.CREATING)
FAST_PASSES_FOR_S = 15.0  # passes every 50 ms this long after a replica starts


class Controller:
    """Owns the observed state of every replica and drives it toward the desired state."""

    def __init__(
        self,
        *,
        store: Store,
        backend: ReplicaBackend,
        settings: ServerSettings,
        environments: EnvironmentManager | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._environments = environments
        if environments is not None:
            environments.set_listener(self.notify)
        self._backend = backend
        self._settings = settings
        self._clock = clock
        self.routes = RoutePublisher()
        self._observed = Observed()
        self._wake = asyncio.Event()
        self._stopping: set[asyncio.Task[None]] = set()
        self._models: dict[tuple[str, str, int], ModelVersionRecord] = {}
        self._saved: dict[str, DeploymentStatus] = {}
        self._started_before: set[str] = set()
        self._unschedulable: dict[str, list[str]] = {}
        self._names: dict[str, tuple[str, str]] = {}
        self._specs: dict[str, DeploymentSpec] = {}
        self._notes: dict[str, str] = {}  # e.g. why limits are enforced best-effort
        # environment of each (deployment id, component), and the spec stamp it was asked for
        self._envs: dict[tuple[str, str], EnvironmentInfo] = {}
        self._env_stamps: dict[tuple[str, str], object] = {}
        # autoscaling: traffic reported by the gateway, and each component's last decision
        self.traffic = TrafficLog()
        self._scales: dict[tuple[str, str], ScaleState] = {}
        self._scale_notes: dict[tuple[str, str], str] = {}
        self._desired: dict[str, dict[str, int]] = {}  # instances wanted now, per component
        self.passes = 0

    def snapshot(self) -> list[tuple[str, str, DeploymentStatus]]:
        """(project id, deployment name, last status) of every deployment, for metrics."""
        return [
            (*self._names[dep_id], status)
            for dep_id, status in self._saved.items()
            if dep_id in self._names
        ]

    # -- loop -------------------------------------------------------------------------------

    def notify(self) -> None:
        """Ask for a pass now (after a change of desired state)."""
        self._wake.set()

    async def run(self) -> None:
        """Recover, then reconcile on every change and every interval, until cancelled."""
        await self.recover()
        while True:
            self._wake.clear()
            try:
                await self.reconcile_once()
            except Exception:  # the loop must never die
                log.exception("reconcile pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._next_pass_in())

    def _next_pass_in(self) -> float:
        """Soon while a replica is in the first seconds of its start (a cold start may be waiting
        on it), else the interval: a slow loader does not keep the loop spinning."""
        now = self._clock()
        starting = any(
            t.phase is ReplicaPhase.STARTING
            and t.stop_reason is None
            and now - t.started_mono < FAST_PASSES_FOR_S
            for t in self._observed.replicas.values()
        )
        interval = self._settings.reconcile_interval_s
        return min(interval, 0.05) if starting else interval

    # -- traffic and autoscaling --------------------------------------------------------------

    def record_traffic(self, reports: list[dict[str, Any]], *, gateway: str = "0") -> None:
        """Cumulative counters per deployment from one gateway (``/internal/traffic``)."""
        ids = self._ids_by_name()
        now = self._clock()
        for report in reports:
            dep_id = ids.get((str(report.get("project_id")), str(report.get("name"))))
            if dep_id is not None:
                self.traffic.record(
                    dep_id,
                    requests=int(report.get("requests", 0)),
                    busy_s=float(report.get("busy_s", 0.0)),
                    in_flight=int(report.get("in_flight", 0)),
                    now=now,
                    gateway=gateway,
                )

    def wake(self, project_id: str, name: str) -> bool:
        """A request waits for deployment ``name`` at zero instances: bring one replica now."""
        dep_id = self._ids_by_name().get((project_id, name))
        spec = self._specs.get(dep_id) if dep_id is not None else None
        if dep_id is None or spec is None:
            return False
        now = self._clock()
        for component in spec.components():
            key = (dep_id, component.value)
            if self._scaling_of(spec, component) is not None:
                self._scales[key] = wake(self._scales.get(key) or initial_state(0, now), now)
        self.notify()
        return True

    def _ids_by_name(self) -> dict[tuple[str, str], str]:
        return {names: dep_id for dep_id, names in self._names.items()}

    @staticmethod
    def _scaling_of(spec: DeploymentSpec, component: Component) -> ScalingConfig | None:
        if component is Component.TRANSFORMER:
            t = spec.transformer
            return effective_scaling(t.resources, t.scaling) if t is not None else None
        return effective_scaling(spec.predictor.resources, spec.predictor.scaling)

    def _instances(self, record: DeploymentRecord, component: Component, fixed: int) -> int:
        """How many instances of a component to run now: fixed, or the autoscaler's choice."""
        config = self._scaling_of(record.spec, component)
        key = (record.id, component.value)
        if config is None:
            self._scales.pop(key, None)
            self._scale_notes.pop(key, None)
            return fixed
        now = self._clock()
        state = self._scales.get(key) or initial_state(fixed, now)
        starting = sum(
            1
            for t in self._observed.of(record.id)
            if t.ref.component == component.value and t.phase is ReplicaPhase.STARTING
        )
        decision = decide(
            config, state, self.traffic.samples(record.id), now=now, starting=starting
        )
        self._scales[key] = decision.state
        self._scale_notes[key] = (
            f"{component.value} autoscaling ({config.min_instances}..{config.max_instances}): "
            f"{decision.desired} instance(s), {decision.reason}"
        )
        return decision.desired

    async def recover(self) -> None:
        """Adopt replicas that still run (after a restart); forget those that are gone."""
        now = self._clock()
        records = await asyncio.to_thread(self._store.list_deployments)
        specs = {r.id: r.spec for r in records}
        for ref in await self._backend.list_replicas():
            health = await self._backend.health(ref)
            if health.health is Health.EXITED:
                self._backend.discard(ref)
                continue
            age = max(0.0, time.time() - ref.started_at)
            phase = ReplicaPhase.READY if health.health is Health.READY else ReplicaPhase.STARTING
            tracked = Tracked(ref=ref, phase=phase, started_mono=now - age)
            spec = specs.get(ref.deployment_id)
            resources = component_resources(spec, ref.component) if spec else None
            if resources is not None:
                tracked.demand = Demand.of(resources.requests)
            tracked.ready_since = now if phase is ReplicaPhase.READY else None
            self._observed.replicas[ref.replica_id] = tracked
            log.info("adopted replica %s (%s)", ref.replica_id, phase)
        statuses = await asyncio.to_thread(self._store.get_statuses, [r.id for r in records])
        for dep_id, status in statuses.items():
            self._saved[dep_id] = status
            if status.state not in _NEVER_STARTED:
                self._started_before.add(dep_id)

    async def shutdown(self, *, stop_replicas: bool) -> None:
        """Wait for pending stops; stop every replica too when asked (clean server exit)."""
        if stop_replicas:
            grace = self._settings.stop_grace_s
            for tracked in list(self._observed.replicas.values()):
                if tracked.stop_reason is None:
                    self._stop(tracked, "server shutdown", grace_s=grace, wait_gateway=False)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._environments is not None:
            await self._environments.close()
        await self._backend.close()

    # -- one pass ---------------------------------------------------------------------------

    async def reconcile_once(self) -> None:
        self.passes += 1
        records = await asyncio.to_thread(self._store.list_deployments)
        self._names = {r.id: (r.project_id, r.name) for r in records}
        self._specs = {r.id: r.spec for r in records}
        await self._observe()
        targets: list[ComponentTarget] = []
        errors: dict[str, str] = {}
        for record in records:
            try:
                targets += await self._targets(record)
            except NotFound as exc:
                errors[record.id] = exc.message
        now = self._clock()
        views = [t.view() for t in self._observed.replicas.values() if t.stop_reason is None]
        retry = {key: slot.retry_at for key, slot in self._observed.slots.items()}
        actions = plan(
            targets,
            views,
            retry_at=retry,
            now=now,
            start_timeout_s=self._settings.replica_start_timeout_s,
        )
        by_id = {r.id: r for r in records}
        stops = [a for a in actions if isinstance(a, StopReplica)]
        await self._admit_and_start(by_id, [a for a in actions if isinstance(a, StartReplica)])
        for stop in stops:
            tracked = self._observed.replicas.get(stop.replica_id)
            if tracked is not None:
                tracked.stop_reason = stop.reason
                tracked.phase = ReplicaPhase.STOPPING
        for record in records:
            try:
                await self._save_status(record, errors.get(record.id))
            except Exception:
                log.exception("saving the status of %s failed", record.name)
        await self._publish(records)
        for stop in stops:
            tracked = self._observed.replicas.get(stop.replica_id)
            if tracked is not None:
                self._stop(tracked, stop.reason, grace_s=self._settings.stop_grace_s)
        await self._purge(records)

    async def _admit_and_start(
        self, records: dict[str, DeploymentRecord], starts: list[StartReplica]
    ) -> None:
        """Start what fits in the node's free capacity; the rest waits with its reason."""
        capacity = self._backend.capacity()
        allocated = total(t.demand for t in self._observed.replicas.values())
        self._unschedulable = {}
        for action in starts:
            record = records[action.deployment_id]
            env = self._envs.get((record.id, action.component))
            if env is not None and env.phase is not EnvironmentPhase.READY:
                continue  # waits for its environment (its status says how that goes)
            resources = component_resources(record.spec, action.component)
            demand = Demand.of(resources.requests) if resources else Demand()
            reason = shortfall(capacity, allocated, demand) if capacity else None
            if reason is not None:
                where = f"{action.component} replica {action.slot}"
                self._unschedulable.setdefault(record.id, []).append(f"{where}: {reason}")
                continue
            allocated = allocated + demand
            await self._start(record, action, demand)

    async def _observe(self) -> None:
        watched = [t for t in self._observed.replicas.values() if t.stop_reason is None]
        healths = await asyncio.gather(*(self._backend.health(t.ref) for t in watched))
        now = self._clock()
        for tracked, health in zip(watched, healths, strict=True):
            if health.health is Health.EXITED:
                self._record_exit(tracked, health.exit or ReplicaExit(reason="Exited"), now)
                self._backend.discard(tracked.ref)
                del self._observed.replicas[tracked.ref.replica_id]
            elif health.health is Health.READY:
                self._sample(tracked, now)
                tracked.phase = ReplicaPhase.READY
                if tracked.ready_since is None:
                    tracked.ready_since = now
            else:
                self._sample(tracked, now)
                tracked.phase = ReplicaPhase.STARTING
                tracked.ready_since = None

    def _sample(self, tracked: Tracked, now: float) -> None:
        spec = self._specs.get(tracked.ref.deployment_id)
        resources = component_resources(spec, tracked.ref.component) if spec else None
        used = self._backend.usage(tracked.ref)
        tracked.sample(used, resources, now)
        if used is not None and used.enforcement == "best-effort":
            self._notes[tracked.ref.deployment_id] = used.note

    def _record_exit(self, tracked: Tracked, exit_: ReplicaExit, now: float) -> None:
        ref = tracked.ref
        ready_for = now - tracked.ready_since if tracked.ready_since is not None else 0.0
        slot = self._observed.slot((ref.deployment_id, ref.component, ref.slot))
        slot.record_failure(
            exit_,
            ready_for=ready_for,
            now=now,
            base_s=self._settings.restart_backoff_s,
            max_s=self._settings.restart_backoff_max_s,
        )
        log.warning("replica %s exited: %s %s", ref.replica_id, exit_.reason, exit_.message)

    async def _model(self, record: DeploymentRecord) -> ModelVersionRecord:
        spec = record.spec.predictor
        key = (record.project_id, spec.model_name, spec.model_version)
        if key not in self._models:
            self._models[key] = await asyncio.to_thread(
                self._store.get_model_version,
                record.project_id,
                spec.model_name,
                spec.model_version,
            )
        return self._models[key]

    async def _targets(self, record: DeploymentRecord) -> list[ComponentTarget]:
        model = await self._model(record)
        if not Path(model.storage_path).is_dir():
            raise NotFound(f"the files of model {model.model_name} v{model.version} are missing")
        running = record.active and not record.deleting
        if running:
            self._started_before.add(record.id)
        out = []
        desired: dict[str, int] = {}
        for component, instances in record.spec.components().items():
            template = template_hash(record.spec, component, model.storage_path)
            count = self._instances(record, component, instances) if running else 0
            if not running:
                self._scales.pop((record.id, component.value), None)
            desired[component.value] = count
            if running:
                self._environment(record, component, Path(model.storage_path))
            out.append(ComponentTarget(record.id, component.value, count, template))
        self._desired[record.id] = desired
        return out

    def _environment(self, record: DeploymentRecord, component: Component, model_dir: Path) -> None:
        """Ask for (or follow) the environment of one component; ``self._envs`` holds it."""
        key = (record.id, component.value)
        if self._environments is None:
            return
        try:
            request = environment_request(
                self._environments.catalogue, record.spec, component, model_dir
            )
        except InvalidSpec as exc:
            self._envs[key] = EnvironmentInfo(phase=EnvironmentPhase.FAILED, message=exc.message)
            return
        if request is None:
            self._envs.pop(key, None)
            return
        stamp = (record.revision, record.updated_at)
        retry = self._env_stamps.get(key) != stamp  # a changed or restarted deployment retries
        self._env_stamps[key] = stamp
        self._envs[key] = self._environments.status(request, retry=retry)

    def _env_failure(self, record: DeploymentRecord) -> str | None:
        failed = [
            f"{component}: {info.message}"
            for (dep_id, component), info in self._envs.items()
            if dep_id == record.id and info.phase is EnvironmentPhase.FAILED
        ]
        return "; ".join(failed) or None

    def _env_pending(self, record: DeploymentRecord) -> str | None:
        pending = [
            f"{component} environment {info.base}: {info.message or info.phase.value.lower()}"
            for (dep_id, component), info in self._envs.items()
            if dep_id == record.id
            and info.phase in (EnvironmentPhase.RESOLVING, EnvironmentPhase.BUILDING)
        ]
        return "; ".join(pending) or None

    async def _start(self, record: DeploymentRecord, action: StartReplica, demand: Demand) -> None:
        model = await self._model(record)
        spec = _replica_spec(record, action, model)
        env = self._envs.get((record.id, action.component))
        if env is not None and env.key is not None and self._environments is not None:
            spec = dataclasses.replace(
                spec,
                python=str(self._environments.python(env.key)),
                runtime_path=self._environments.runtime_path,
            )
        try:
            ref = await self._backend.start(spec)
        except Exception as exc:
            log.exception("starting %s failed", spec.replica_id)
            exit_ = ReplicaExit(reason="StartError", message=f"{type(exc).__name__}: {exc}")
            self._record_exit_of(record.id, action.component, action.slot, exit_)
            return
        self._observed.replicas[ref.replica_id] = Tracked(
            ref=ref, phase=ReplicaPhase.STARTING, started_mono=self._clock(), demand=demand
        )

    def _record_exit_of(
        self, deployment_id: str, component: str, slot: int, exit_: ReplicaExit
    ) -> None:
        record = self._observed.slot((deployment_id, component, slot))
        record.record_failure(
            exit_,
            ready_for=0.0,
            now=self._clock(),
            base_s=self._settings.restart_backoff_s,
            max_s=self._settings.restart_backoff_max_s,
        )

    def _stop(
        self, tracked: Tracked, reason: str, *, grace_s: float, wait_gateway: bool = True
    ) -> None:
        tracked.stop_reason = reason
        tracked.phase = ReplicaPhase.STOPPING
        version = self.routes.version

        async def stop() -> None:
            if wait_gateway:
                await self._gateway_caught_up(version)
            exit_ = await self._backend.stop(tracked.ref, grace_s=grace_s)
            self._observed.replicas.pop(tracked.ref.replica_id, None)
            if reason == "StartTimeout":
                timeout = ReplicaExit(
                    reason="StartTimeout",
                    message=f"not ready after {self._settings.replica_start_timeout_s:g} s",
                )
                ref = tracked.ref
                self._record_exit_of(ref.deployment_id, ref.component, ref.slot, timeout)
            log.info("stopped replica %s (%s): %s", tracked.ref.replica_id, reason, exit_.message)
            self.notify()

        task = asyncio.get_running_loop().create_task(stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _gateway_caught_up(self, version: int, timeout_s: float = 2.0) -> None:
        """Give the gateway a moment to drop a replica from its table before it is stopped."""
        if not self.routes.gateway_connected():
            return
        deadline = time.monotonic() + timeout_s  # a real wait, whatever the policy clock says
        while self.routes.applied < version and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    # -- publishing -------------------------------------------------------------------------

    async def _publish(self, records: list[DeploymentRecord]) -> None:
        routes: list[dict[str, Any]] = []
        for record in records:
            if record.deleting:
                continue
            urls: dict[str, list[str]] = {c.value: [] for c in Component}
            for tracked in self._observed.of(record.id):
                if tracked.phase is ReplicaPhase.READY and tracked.stop_reason is None:
                    urls[tracked.ref.component].append(tracked.ref.data_url)
            saved = self._saved.get(record.id)
            batching = record.spec.predictor.batching
            if batching is None or not batching.enabled:
                batching = None
            routes.append(
                {
                    "project_id": record.project_id,
                    "name": record.name,
                    "state": saved.state.value if saved else DeploymentState.CREATED.value,
                    "message": saved.message if saved else "",
                    "revision": record.revision,
                    "predictor": sorted(urls[Component.PREDICTOR.value]),
                    "transformer": sorted(urls[Component.TRANSFORMER.value]),
                    "wakeable": record.active and self._wakeable(record.spec),
                    "has_transformer": record.spec.transformer is not None,
                    "max_batch_size": batching.batch_size if batching else 0,
                    "max_latency_ms": batching.latency_ms if batching else 0.0,
                }
            )
        keys = await asyncio.to_thread(self._store.key_hashes)
        await self.routes.publish(routes, keys)

    def _wakeable(self, spec: DeploymentSpec) -> bool:
        """Whether requests should be held while the entry component comes back from zero."""
        config = self._scaling_of(spec, Component.PREDICTOR)
        return config is not None and config.min_instances == 0

    async def _save_status(self, record: DeploymentRecord, init_error: str | None) -> None:
        tracked = self._observed.of(record.id)
        live = [t for t in tracked if t.phase in (ReplicaPhase.STARTING, ReplicaPhase.READY)]
        live = [t for t in live if t.stop_reason is None]
        desired = self._desired.get(record.id) or {
            c.value: n for c, n in record.spec.components().items()
        }
        current = await self._current_templates(record)
        ready = {c: 0 for c in desired}
        for t in live:
            if t.phase is ReplicaPhase.READY and t.ref.template == current.get(t.ref.component):
                ready[t.ref.component] = ready.get(t.ref.component, 0) + 1
        failures = [
            SlotFailure(component=key[1], slot=key[2], failures=slot.failures, exit=slot.last_exit)
            for key, slot in self._observed.slots.items()
            if key[0] == record.id and key[1] in desired and key[2] < desired[key[1]]
        ]
        derived = derive(
            StatusInputs(
                name=record.name,
                active=record.active,
                deleting=record.deleting,
                started_before=record.id in self._started_before,
                desired=desired,
                ready=ready,
                live=len(live),
                stopping=sum(1 for t in tracked if t.stop_reason is not None),
                outdated=sum(1 for t in live if t.ref.template != current.get(t.ref.component)),
                failures=failures,
                threshold=self._settings.crashloop_threshold,
                init_error=init_error,
                env_error=self._env_failure(record),
                env_pending=self._env_pending(record),
                unschedulable="; ".join(self._unschedulable.get(record.id, [])) or None,
            )
        )
        replicas = [
            t.status(*self._slot_history(t))
            for t in sorted(tracked, key=lambda t: t.ref.replica_id)
        ]
        status = DeploymentStatus(
            state=derived.state,
            message=derived.message,
            notes=([self._notes[record.id]] if record.id in self._notes else [])
            + [
                note
                for (dep_id, _), note in sorted(self._scale_notes.items())
                if dep_id == record.id
            ],
            conditions=derived.conditions,
            replicas=replicas,
            available_instances=ready,
            observed_revision=record.revision,
            environments={
                component: info
                for (dep_id, component), info in sorted(self._envs.items())
                if dep_id == record.id and component in desired
            },
        )
        if self._saved.get(record.id) != status:
            self._saved[record.id] = status
            await asyncio.to_thread(self._store.save_status, record.id, status)

    def _slot_history(self, tracked: Tracked) -> tuple[int, ReplicaExit | None]:
        ref = tracked.ref
        slot = self._observed.slots.get((ref.deployment_id, ref.component, ref.slot))
        return (slot.restarts, slot.last_exit) if slot else (0, None)

    async def _current_templates(self, record: DeploymentRecord) -> dict[str, str]:
        try:
            model = await self._model(record)
        except NotFound:
            return {}
        return {
            c.value: template_hash(record.spec, c, model.storage_path)
            for c in record.spec.components()
        }

    async def _purge(self, records: list[DeploymentRecord]) -> None:
        for record in records:
            if record.deleting and not self._observed.of(record.id):
                await asyncio.to_thread(self._store.purge_deployment, record.id)
                self._backend.forget_logs(record.id)
                self._observed.forget_deployment(record.id)
                self._saved.pop(record.id, None)
                self._started_before.discard(record.id)
                for key in [k for k in self._envs if k[0] == record.id]:
                    self._envs.pop(key, None)
                    self._env_stamps.pop(key, None)
                for key in [k for k in self._scales if k[0] == record.id]:
                    self._scales.pop(key, None)
                    self._scale_notes.pop(key, None)
                self.traffic.forget(record.id)
                self._desired.pop(record.id, None)


def _replica_spec(
    record: DeploymentRecord, action: StartReplica, model: ModelVersionRecord
) -> ReplicaSpec:
    spec: DeploymentSpec = record.spec
    component = Component(action.component)
    resources: ComponentResources
    if component is Component.PREDICTOR:
        resources = spec.predictor.resources
        script, framework = spec.predictor.script_file, model.framework
        batching = spec.predictor.batching
    else:
        assert spec.transformer is not None
        resources = spec.transformer.resources
        script, framework = spec.transformer.script_file, "python"
        batching = None
    return ReplicaSpec(
        replica_id=f"{record.name}-{component.value[0]}{action.slot}-{uuid.uuid4().hex[:8]}",
        deployment_id=record.id,
        deployment_name=record.name,
        project_id=record.project_id,
        component=component.value,
        slot=action.slot,
        revision=record.revision,
        template=action.template,
        model_name=model.model_name,
        model_version=model.version,
        model_dir=Path(model.storage_path),
        framework=framework,
        script_file=script,
        resources=resources,
        batching=batching,
    )
