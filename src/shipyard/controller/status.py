"""Pure derivation of a deployment's state and conditions from what the controller observed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shipyard.spec.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    DeploymentState,
    ReplicaExit,
)

T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


@dataclass(frozen=True)
class SlotFailure:
    component: str
    slot: int
    failures: int  # consecutive failures of this slot
    exit: ReplicaExit | None


@dataclass(frozen=True)
class StatusInputs:
    name: str
    active: bool
    deleting: bool
    started_before: bool
    desired: Mapping[str, int]
    ready: Mapping[str, int]
    live: int  # replicas starting or ready
    stopping: int
    outdated: int  # live replicas running an older template
    outdated_ready: int = 0  # of those, READY ones (what "keeps serving" counts)
    failures: list[SlotFailure] = field(default_factory=list)
    threshold: int = 3
    init_error: str | None = None
    env_error: str | None = None  # an environment could not be resolved or built
    env_pending: str | None = None  # an environment is being resolved or built
    unschedulable: str | None = None  # why replicas wait for node capacity


@dataclass(frozen=True)
class Derived:
    state: DeploymentState
    message: str
    conditions: list[Condition]


def derive(s: StatusInputs) -> Derived:
    """State, message and the four conditions of one deployment."""
    if s.deleting:
        return Derived(DeploymentState.STOPPING, "deleting: stopping replicas", [])
    if not s.active:
        if s.live or s.stopping:
            return Derived(DeploymentState.STOPPING, "stopping replicas", [])
        if s.started_before:
            return Derived(DeploymentState.STOPPED, "stopped; start it to serve again", [])
        return Derived(DeploymentState.CREATED, "created; start it to serve", [])
    scheduled = Condition(type=ConditionType.SCHEDULED, status=T, reason="Scheduled")
    if s.unschedulable:
        scheduled = Condition(
            type=ConditionType.SCHEDULED, status=F, reason="Unschedulable", message=s.unschedulable
        )
    if s.init_error:
        init = Condition(
            type=ConditionType.INITIALIZED,
            status=F,
            reason="ArtifactUnavailable",
            message=s.init_error,
        )
        return Derived(DeploymentState.FAILED, s.init_error, [scheduled, init])
    if s.env_error:
        init = Condition(
            type=ConditionType.INITIALIZED,
            status=F,
            reason="EnvironmentBuildFailed",
            message=s.env_error,
        )
        message = s.env_error
        if s.outdated_ready:
            message += f"; the previous revision keeps serving ({s.outdated_ready} replicas)"
        return Derived(DeploymentState.FAILED, message, [scheduled, init])
    init = Condition(type=ConditionType.INITIALIZED, status=T, reason="Initialized")
    if s.env_pending:
        init = Condition(
            type=ConditionType.INITIALIZED,
            status=U,
            reason="EnvironmentBuilding",
            message=s.env_pending,
        )
    started, crash_message = _started(s)
    ready = _ready(s)
    conditions = [scheduled, init, started, ready]
    if started.status is F:
        if s.outdated_ready:
            crash_message = (
                f"rollout stopped: {crash_message}; the previous revision keeps serving "
                f"({s.outdated_ready} replicas)"
            )
        return Derived(DeploymentState.FAILED, crash_message, conditions)
    total = sum(s.desired.values())
    if total == 0:
        return Derived(DeploymentState.IDLE, "scaled to zero instances", conditions)
    if ready.status is T:
        if s.outdated:
            return Derived(
                DeploymentState.UPDATING, "replacing replicas of the old revision", conditions
            )
        return Derived(DeploymentState.RUNNING, ready.message, conditions)
    state = DeploymentState.UPDATING if s.outdated else DeploymentState.STARTING
    message = ready.message + (f"; {crash_message}" if crash_message else "")
    if s.env_pending:
        message += f"; {s.env_pending}"
    if s.unschedulable:
        message += f"; waiting for resources: {s.unschedulable}"
    return Derived(state, message, conditions)


def _started(s: StatusInputs) -> tuple[Condition, str]:
    failing = [f for f in s.failures if f.failures > 0]
    if not failing:
        return Condition(type=ConditionType.STARTED, status=T, reason="Started"), ""
    worst = max(failing, key=lambda f: f.failures)
    detail = worst.exit.message if worst.exit and worst.exit.message else "exited"
    reason = worst.exit.reason if worst.exit and worst.exit.reason else "Error"
    where = f"{worst.component} replica {worst.slot}"
    if worst.failures >= s.threshold:
        message = (
            f"{where} failed {worst.failures} times in a row ({reason}: {detail}); restarting with "
            f"backoff. See `shipyard deployments logs {s.name} --component {worst.component}`"
        )
        cond = Condition(
            type=ConditionType.STARTED, status=F, reason="CrashLoopBackOff", message=message
        )
        return cond, message
    message = f"{where} restarting after failure {worst.failures} ({reason}: {detail})"
    return Condition(
        type=ConditionType.STARTED, status=U, reason="Restarting", message=message
    ), message


def _ready(s: StatusInputs) -> Condition:
    parts = [f"{s.ready.get(c, 0)}/{n} {c} instances ready" for c, n in s.desired.items()]
    message = ", ".join(parts)
    if all(s.ready.get(c, 0) >= n for c, n in s.desired.items()):
        return Condition(type=ConditionType.READY, status=T, reason="Ready", message=message)
    return Condition(
        type=ConditionType.READY, status=F, reason="MinimumReplicasUnavailable", message=message
    )
