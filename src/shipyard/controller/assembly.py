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
from shipyard.spec.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    DeploymentStatus,
    ReplicaExit,
    ReplicaPhase,
)


def assemble(managed: Managed, current: Mapping[str, str], *, threshold: int) -> DeploymentStatus:
    """The status of ``managed`` (which must have a record); ``current`` maps each component
    to the template of the current revision (empty when it could not be computed)."""
    record = managed.record
    assert record is not None
    inputs = status_inputs(managed, current, threshold=threshold)
    derived = derive(inputs)
    notes = [managed.limits_note] if managed.limits_note else []
    notes += [s.scale_note for _, s in sorted(managed.components.items()) if s.scale_note]
    report = managed.report
    if report is not None:
        notes += [n for n in report.notes if n not in notes]
    return DeploymentStatus(
        state=derived.state,
        message=derived.message,
        notes=notes,
        conditions=derived.conditions
        + _logger_condition(managed)
        + list(report.conditions if report else ()),
        replicas=[
            t.status(*_slot_history(managed, t))
            for t in sorted(managed.replicas.values(), key=_listing_order)
        ],
        available_instances=dict(inputs.ready),
        observed_revision=record.revision,
        environments={
            name: state.environment
            for name, state in sorted(managed.components.items())
            if state.environment is not None and name in inputs.desired
        },
        addresses=dict(report.addresses) if report else {},
    )


def _listing_order(t: Tracked) -> tuple[str, int, float, str]:
    """Replicas per component and slot, the one started first first (ids are random)."""
    ref = t.ref
    return ref.component, ref.slot, ref.started_at, ref.replica_id


def _logger_condition(managed: Managed) -> list[Condition]:
    """``INFERENCE_LOGGER`` when the deployment has an inference logger (False: sink down)."""
    if managed.record is None or managed.record.spec.predictor.inference_logger is None:
        return []
    problem = managed.logger_problem
    if problem is None:
        return [Condition(type=ConditionType.INFERENCE_LOGGER, status=ConditionStatus.TRUE)]
    return [
        Condition(
            type=ConditionType.INFERENCE_LOGGER,
            status=ConditionStatus.FALSE,
            reason="SinkFailing",
            message=f"inference log events cannot be delivered: {problem}",
        )
    ]


def status_inputs(managed: Managed, current: Mapping[str, str], *, threshold: int) -> StatusInputs:
    """What :func:`derive` needs of one deployment's managed state."""
    record = managed.record
    assert record is not None
    live = managed.live()
    desired = managed.desired()
    ready = {c: 0 for c in desired}
    for t in live:
        if t.phase is ReplicaPhase.READY and t.ref.template == current.get(t.ref.component):
            ready[t.ref.component] = ready.get(t.ref.component, 0) + 1
    outdated = [t for t in live if t.ref.template != current.get(t.ref.component)]
    every_env = {
        name: state.environment
        for name, state in managed.components.items()
        if state.environment is not None
    }
    unschedulable = [u for s in managed.components.values() for u in s.unschedulable]
    return StatusInputs(
        name=record.name,
        active=record.active,
        deleting=record.deleting,
        started_before=managed.started_before,
        desired=desired,
        ready=ready,
        live=len(live),
        stopping=sum(1 for t in managed.replicas.values() if t.stop_reason is not None),
        outdated=len(outdated),
        outdated_ready=sum(1 for t in outdated if t.phase is ReplicaPhase.READY),
        failures=[
            SlotFailure(component=c, slot=n, failures=slot.failures, exit=slot.last_exit)
            for (c, n), slot in managed.slots.items()
            if c in desired and n < desired[c]
        ],
        threshold=threshold,
        init_error=managed.init_error,
        env_error=_env_failure(every_env),
        env_pending=_env_pending(every_env) or _start_progress(live),
        unschedulable="; ".join(unschedulable) or None,
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


def _start_progress(live: list[Tracked]) -> str | None:
    """What starting replicas wait for, once per distinct step (an image build shared by
    several replicas is named once): ``predictor: building image ...: step 2/5: ...``."""
    steps = dict.fromkeys(
        f"{t.ref.component}: {t.progress}"
        for t in live
        if t.phase is ReplicaPhase.STARTING and t.progress
    )
    return "; ".join(steps) or None


def _env_pending(environments: Mapping[str, EnvironmentInfo]) -> str | None:
    pending = [
        f"{component} environment {info.base}: {info.message or info.phase.value.lower()}"
        for component, info in environments.items()
        if info.phase in (EnvironmentPhase.RESOLVING, EnvironmentPhase.BUILDING)
    ]
    return "; ".join(pending) or None
