"""Status assembly: one deployment's :class:`DeploymentStatus` from its managed state.

Gathers what the controller knows of a deployment (replicas, slot failures, instances wanted,
environments, scheduling and autoscaling notes) into the pure :func:`derive` inputs, and the
result into the status the API shows. The status carries ``observed_revision``: the revision it
was computed for, so a client waiting for a revision ignores statuses of an older one.
"""

from __future__ import annotations

from collections.abc import Mapping

from shipyard.controller.state import Managed
from shipyard.controller.status import SlotFailure, StatusInputs, derive
from shipyard.controller.tracking import Tracked
from shipyard.spec.environment import EnvironmentInfo, EnvironmentPhase
from shipyard.spec.status import DeploymentStatus, ReplicaExit, ReplicaPhase


def assemble(managed: Managed, current: Mapping[str, str], *, threshold: int) -> DeploymentStatus:
    """The status of ``managed`` (which must have a record); ``current`` maps each component
    to the template of the current revision (empty when it could not be computed)."""
    record = managed.record
    assert record is not None
    tracked = list(managed.replicas.values())
    live = managed.live()
    desired = managed.desired()
    ready = {c: 0 for c in desired}
    for t in live:
        if t.phase is ReplicaPhase.READY and t.ref.template == current.get(t.ref.component):
            ready[t.ref.component] = ready.get(t.ref.component, 0) + 1
    outdated = [t for t in live if t.ref.template != current.get(t.ref.component)]
    failures = [
        SlotFailure(component=c, slot=n, failures=slot.failures, exit=slot.last_exit)
        for (c, n), slot in managed.slots.items()
        if c in desired and n < desired[c]
    ]
    environments = {
        name: state.environment
        for name, state in sorted(managed.components.items())
        if state.environment is not None and name in desired
    }
    every_env = {
        name: state.environment
        for name, state in managed.components.items()
        if state.environment is not None
    }
    unschedulable = [u for s in managed.components.values() for u in s.unschedulable]
    derived = derive(
        StatusInputs(
            name=record.name,
            active=record.active,
            deleting=record.deleting,
            started_before=managed.started_before,
            desired=desired,
            ready=ready,
            live=len(live),
            stopping=sum(1 for t in tracked if t.stop_reason is not None),
            outdated=len(outdated),
            outdated_ready=sum(1 for t in outdated if t.phase is ReplicaPhase.READY),
            failures=failures,
            threshold=threshold,
            init_error=managed.init_error,
            env_error=_env_failure(every_env),
            env_pending=_env_pending(every_env),
            unschedulable="; ".join(unschedulable) or None,
        )
    )
    notes = [managed.limits_note] if managed.limits_note else []
    notes += [s.scale_note for _, s in sorted(managed.components.items()) if s.scale_note]
    return DeploymentStatus(
        state=derived.state,
        message=derived.message,
        notes=notes,
        conditions=derived.conditions,
        replicas=[
            t.status(*_slot_history(managed, t))
            for t in sorted(tracked, key=lambda t: t.ref.replica_id)
        ],
        available_instances=ready,
        observed_revision=record.revision,
        environments=environments,
    )


def _slot_history(managed: Managed, tracked: Tracked) -> tuple[int, ReplicaExit | None]:
    slot = managed.slots.get((tracked.ref.component, tracked.ref.slot))
    return (slot.restarts, slot.last_exit) if slot else (0, None)


def _env_failure(environments: Mapping[str, EnvironmentInfo]) -> str | None:
    failed = [
        f"{component}: {info.message}"
        for component, info in environments.items()
        if info.phase is EnvironmentPhase.FAILED
    ]
    return "; ".join(failed) or None


def _env_pending(environments: Mapping[str, EnvironmentInfo]) -> str | None:
    pending = [
        f"{component} environment {info.base}: {info.message or info.phase.value.lower()}"
        for component, info in environments.items()
        if info.phase in (EnvironmentPhase.RESOLVING, EnvironmentPhase.BUILDING)
    ]
    return "; ".join(pending) or None
